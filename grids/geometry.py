"""Grid geometry algorithms as pure functions (requirements GR-4, GR-10).

Why this module exists
----------------------
Branch managers draw grids (网格) on a map, split and merge them, and ask the
platform to generate them (H3 hexagons, Voronoi cells around outlets, cells
balanced by household count).  The rules every grid boundary must follow --
a valid polygon in mainland China, inside its parent, not overlapping its
siblings, not too small -- and the algorithms that produce new boundaries are
kept here, in ONE place, as pure functions: shapely geometries in, shapely
geometries out, no database and no Django models (house rule 6, after the HOT
Tasking Manager).  Services call these functions and persist the results;
tests exercise them in milliseconds.

Conventions
-----------
* All geometries are WGS-84 longitude/latitude (EPSG:4326), ``x = lng``,
  ``y = lat``.  Nothing here converts between datums (that is
  :mod:`gis_core.crs`' job); measuring uses either the geodesic
  (:func:`area_m2`) or a *local* metric frame around the geometry.
* Invalid input is never silently "made valid": a self-intersection is
  rejected and its location reported.
* Every rule violation raises :class:`GeometryError` with a stable ``code``,
  a Chinese ``message`` (shown to the bank clerk), an English
  ``message_en``, the ``location`` (lng, lat) of the problem when there is
  one, and JSON-friendly ``details``.  The service layer turns it into an
  API error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import h3
import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as shapely_split

from gis_core.crs import out_of_china

__all__ = [
    "BalancedResult",
    "CoverageOverlap",
    "CoverageReport",
    "GeometryError",
    "Overlap",
    "area_m2",
    "assert_no_overlap",
    "check_inside_parent",
    "coverage_report",
    "find_overlaps",
    "generate_balanced",
    "generate_h3",
    "generate_voronoi",
    "local_metric_transformer",
    "merge_polygons",
    "split_by_line",
    "to_multipolygon",
    "validate_grid_geometry",
    "vertex_count",
]

_GEOD = Geod(ellps="WGS84")

# WGS-84 ellipsoid, for the local metric frame (radii of curvature).
_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3

# H3 limits (GR-10): coarser than 5 is bigger than a province, finer than 11 is smaller than a house.
H3_MIN_RESOLUTION = 5
H3_MAX_RESOLUTION = 11
MAX_GENERATED_CELLS = 20_000

# Pieces smaller than this (m²) are floating-point noise, never a real grid part.
_NOISE_AREA_M2 = 1.0
# Two grids are adjacent when they share at least this much edge (m).
_MIN_SHARED_EDGE_M = 0.5
# Distance (m) within which two boundaries count as "the same edge" when measuring adjacency.
_SHARED_EDGE_SNAP_M = 0.05


# --------------------------------------------------------------------------- errors


class GeometryError(Exception):
    """A grid geometry breaks a rule or an algorithm cannot run on it.

    ``code`` is stable (the API error code), ``message`` Chinese (shown to the
    user), ``message_en`` its English translation, ``location`` the (lng, lat)
    of the problem when known, ``details`` extra JSON-friendly facts (areas,
    sibling ids, the sub-reason of an invalid geometry, ...).
    """

    def __init__(
        self,
        code: str,
        message: str,
        message_en: str,
        *,
        location: tuple[float, float] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_en = message_en
        self.location = location
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"GeometryError(code={self.code!r}, location={self.location!r}, details={self.details!r})"


def _loc(point: Any) -> tuple[float, float]:
    """(lng, lat) of a shapely Point or a coordinate pair, as plain floats."""
    if isinstance(point, BaseGeometry):
        return (float(point.x), float(point.y))
    return (float(point[0]), float(point[1]))


def _fmt_loc(location: tuple[float, float] | None) -> str:
    if location is None:
        return ""
    return f"({location[0]:.6f}, {location[1]:.6f})"


# --------------------------------------------------------------------------- helpers


def area_m2(geom: BaseGeometry | None) -> float:
    """Geodesic area of ``geom`` in square metres on the WGS-84 ellipsoid (always >= 0).

    Non-polygonal geometries and ``None`` have area 0.
    """
    if geom is None or geom.is_empty:
        return 0.0
    if geom.geom_type == "GeometryCollection":
        return sum(area_m2(part) for part in geom.geoms)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return 0.0
    area, _perimeter = _GEOD.geometry_area_perimeter(geom)
    return abs(float(area))


def vertex_count(geom: BaseGeometry | None) -> int:
    """Number of coordinates of ``geom`` (closing points of rings included)."""
    if geom is None:
        return 0
    return int(shapely.get_num_coordinates(geom))


def _polygonal_parts(geom: BaseGeometry | None) -> list[Polygon]:
    """The non-empty Polygon parts of any geometry (lines and points dropped)."""
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        parts: list[Polygon] = []
        for part in geom.geoms:
            parts.extend(_polygonal_parts(part))
        return parts
    return []


def to_multipolygon(geom: BaseGeometry | None) -> MultiPolygon:
    """Return the polygonal part of ``geom`` as a MultiPolygon (Polygon wrapped, lines/points dropped)."""
    if geom is not None and geom.geom_type == "MultiPolygon":
        return geom
    return MultiPolygon(_polygonal_parts(geom))


def _polygonal_or_none(
    geom: BaseGeometry | None, *, min_part_m2: float = 0.0
) -> Polygon | MultiPolygon | None:
    """Polygonal parts of ``geom`` with area >= ``min_part_m2``: a Polygon, a MultiPolygon, or None."""
    parts = [p for p in _polygonal_parts(geom) if min_part_m2 <= 0 or area_m2(p) >= min_part_m2]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


@lru_cache(maxsize=256)
def _cached_aeqd(lng: float, lat: float) -> Transformer:
    return Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={lat} +lon_0={lng} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs",
        always_xy=True,
    )


def local_metric_transformer(geom: BaseGeometry) -> Transformer:
    """A pyproj transformer lng/lat -> metres in an azimuthal equidistant CRS centred on ``geom``.

    ``always_xy=True`` (lng, lat in; x, y out).  The centre is rounded to 0.01° so
    that transformers are cached and re-used; within a city the distortion is
    negligible.  Use ``transformer.transform(..., direction="INVERSE")`` to go back.
    """
    minx, miny, maxx, maxy = geom.bounds
    return _cached_aeqd(round((minx + maxx) / 2, 2), round((miny + maxy) / 2, 2))


class _LocalFrame:
    """A local *affine* metric frame: x = (lng - lng0) * kx, y = (lat - lat0) * ky (metres).

    The scales are the ellipsoid's radii of curvature at ``lat0``, so distances
    near the centre are right to ~0.1 % over tens of kilometres -- plenty for
    1 m tolerances on grid-sized geometries.  Being affine, it keeps straight
    edges straight and is exactly invertible, which makes it cheap (one
    vectorised call) and consistent with the lng/lat geometries.
    """

    def __init__(self, lng0: float, lat0: float) -> None:
        phi = math.radians(lat0)
        w = math.sqrt(1.0 - _WGS84_E2 * math.sin(phi) ** 2)
        meridional = _WGS84_A * (1.0 - _WGS84_E2) / w**3
        prime_vertical = _WGS84_A / w
        self.lng0 = lng0
        self.lat0 = lat0
        self.kx = math.radians(1.0) * prime_vertical * math.cos(phi)
        self.ky = math.radians(1.0) * meridional

    @classmethod
    def around(cls, *geoms: BaseGeometry) -> _LocalFrame:
        bounds = np.array([g.bounds for g in geoms if g is not None and not g.is_empty], dtype=float)
        return cls(
            float((bounds[:, 0].min() + bounds[:, 2].max()) / 2),
            float((bounds[:, 1].min() + bounds[:, 3].max()) / 2),
        )

    def forward(self, geom: BaseGeometry) -> BaseGeometry:
        return affinity.affine_transform(
            geom, [self.kx, 0.0, 0.0, self.ky, -self.lng0 * self.kx, -self.lat0 * self.ky]
        )

    def inverse(self, geom: BaseGeometry) -> BaseGeometry:
        return affinity.affine_transform(geom, [1.0 / self.kx, 0.0, 0.0, 1.0 / self.ky, self.lng0, self.lat0])

    def metres_to_degrees(self, metres: float) -> float:
        """A distance in degrees that is at least ``metres`` in every direction."""
        return metres / min(self.kx, self.ky)


# --------------------------------------------------------------------------- validation

_INVALID_REASONS: tuple[tuple[str, str, str, str], ...] = (
    # (prefix in GEOS' reason, sub-reason code, Chinese, English) -- longest prefixes first.
    ("Ring Self-intersection", "ring_self_intersection", "边界环自相交", "a ring intersects itself"),
    ("Self-intersection", "self_intersection", "边界自相交", "the boundary intersects itself"),
    ("Hole lies outside shell", "hole_outside_shell", "内洞位于外边界之外", "a hole lies outside the outer ring"),
    ("Nested shells", "nested_shells", "多个面互相嵌套", "one part lies inside another"),
    ("Holes are nested", "nested_holes", "内洞互相嵌套", "one hole lies inside another"),
    ("Interior is disconnected", "disconnected_interior", "内部被分割成不相连的部分", "the interior is disconnected"),
    ("Too few points", "too_few_points", "顶点数过少", "a ring has too few points"),
    ("Invalid Coordinate", "invalid_coordinate", "坐标无效", "a coordinate is not a number"),
    ("Ring is not closed", "ring_not_closed", "边界环未闭合", "a ring is not closed"),
    ("Duplicate Rings", "duplicate_rings", "边界环重复", "a ring is duplicated"),
)
_REASON_LOCATION = re.compile(r"\[\s*([^\s\]]+)\s+([^\s\]]+)[^\]]*\]")


def _parse_invalid_reason(reason: str) -> tuple[str, str, str, tuple[float, float] | None]:
    """Split GEOS' ``is_valid_reason`` text into (sub-reason, Chinese, English, location)."""
    code, zh, en = "other", "几何图形无效", "the geometry is invalid"
    for prefix, sub_code, sub_zh, sub_en in _INVALID_REASONS:
        if reason.startswith(prefix):
            code, zh, en = sub_code, sub_zh, sub_en
            break
    location: tuple[float, float] | None = None
    match = _REASON_LOCATION.search(reason)
    if match:
        try:
            x, y = float(match.group(1)), float(match.group(2))
        except ValueError:
            x = y = math.nan
        if math.isfinite(x) and math.isfinite(y):
            location = (x, y)
    return code, zh, en, location


def validate_grid_geometry(
    geom: BaseGeometry | None,
    *,
    max_vertices: int = 50_000,
    min_area_m2: float = 100.0,
) -> MultiPolygon:
    """Check a grid boundary drawn or uploaded by a user; return it as a MultiPolygon.

    The checks run in this order, each with its own error code:
    ``geometry_empty``, ``geometry_not_polygon``, ``geometry_3d``,
    ``geometry_too_many_vertices``, ``geometry_wrong_crs`` (a coordinate
    outside lng -180..180 / lat -90..90: metres, or lat/lng swapped),
    ``geometry_outside_china``, ``geometry_invalid`` (``details["reason"]``
    is ``self_intersection``, ``ring_self_intersection``,
    ``hole_outside_shell``, ``nested_shells``, ``too_few_points``, ... or
    ``other``; ``location`` is where GEOS found the problem) and
    ``geometry_too_small``.

    The geometry is returned unchanged (a Polygon wrapped in a MultiPolygon; a
    GeometryCollection holding only polygons flattened) -- it is never "made
    valid".
    """
    if geom is None or not isinstance(geom, BaseGeometry) or geom.is_empty:
        if geom is not None and not isinstance(geom, BaseGeometry):
            raise GeometryError(
                "geometry_not_polygon",
                "网格边界必须是面（多边形）。",
                "A grid boundary must be a polygon.",
                details={"geometry_type": type(geom).__name__},
            )
        raise GeometryError("geometry_empty", "网格边界为空。", "The grid boundary is empty.")

    geom_type = geom.geom_type
    if geom_type == "GeometryCollection":
        members = [g for g in geom.geoms if not g.is_empty]
        if any(g.geom_type not in ("Polygon", "MultiPolygon") for g in members):
            raise GeometryError(
                "geometry_not_polygon",
                "网格边界必须是面（多边形），不能包含点或线。",
                "A grid boundary must be a polygon; it may not contain points or lines.",
                details={"geometry_type": geom_type},
            )
        geom = MultiPolygon(_polygonal_parts(geom)) if not geom.has_z else geom
    elif geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            "geometry_not_polygon",
            f"网格边界必须是面（多边形），收到的是 {geom_type}。",
            f"A grid boundary must be a polygon, got {geom_type}.",
            details={"geometry_type": geom_type},
        )

    if geom.has_z:
        raise GeometryError(
            "geometry_3d",
            "网格边界不能包含高程（Z）坐标，请上传二维图形。",
            "A grid boundary may not have Z (height) coordinates; upload a 2-D shape.",
        )

    count = vertex_count(geom)
    if count > max_vertices:
        raise GeometryError(
            "geometry_too_many_vertices",
            f"网格边界的顶点过多（{count} 个，最多 {max_vertices} 个），请先简化。",
            f"The grid boundary has too many vertices ({count}, at most {max_vertices}); simplify it first.",
            details={"vertex_count": count, "max_vertices": max_vertices},
        )

    coords = shapely.get_coordinates(geom)
    finite = np.isfinite(coords).all(axis=1)
    if not finite.all():
        raise GeometryError(
            "geometry_invalid",
            "网格边界无效：坐标不是有效数字。",
            "The grid boundary is invalid: a coordinate is not a number.",
            details={"reason": "invalid_coordinate", "geos_reason": "Invalid Coordinate"},
        )
    bad = (np.abs(coords[:, 0]) > 180.0) | (np.abs(coords[:, 1]) > 90.0)
    if bad.any():
        location = _loc(coords[int(np.argmax(bad))])
        raise GeometryError(
            "geometry_wrong_crs",
            f"坐标 {_fmt_loc(location)} 不是经纬度，可能使用了投影坐标（米）或经纬度顺序颠倒；请使用 WGS-84 经纬度。",
            f"Coordinate {_fmt_loc(location)} is not longitude/latitude: projected (metres) coordinates or "
            "swapped lat/lng? Use WGS-84 longitude/latitude.",
            location=location,
        )

    minx, miny, maxx, maxy = geom.bounds
    corners = ((minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy))
    # The China test is a rectangle: all bounds corners inside => every vertex inside.
    if any(out_of_china(x, y) for x, y in corners):
        for x, y in coords:
            if out_of_china(float(x), float(y)):
                location = _loc((x, y))
                raise GeometryError(
                    "geometry_outside_china",
                    f"网格边界的坐标 {_fmt_loc(location)} 位于中国境外，请检查坐标系和经纬度顺序。",
                    f"Grid boundary coordinate {_fmt_loc(location)} lies outside China; check the coordinate "
                    "system and the lng/lat order.",
                    location=location,
                )

    reason = shapely.is_valid_reason(geom)
    if reason != "Valid Geometry":
        sub_code, zh, en, location = _parse_invalid_reason(reason or "")
        where_zh = f"，位置 {_fmt_loc(location)}" if location else ""
        where_en = f" at {_fmt_loc(location)}" if location else ""
        raise GeometryError(
            "geometry_invalid",
            f"网格边界无效：{zh}{where_zh}。请修改后重新提交。",
            f"The grid boundary is invalid: {en}{where_en}. Please correct it.",
            location=location,
            details={"reason": sub_code, "geos_reason": reason},
        )

    # Cheap planar estimate first (the local frame is affine, so areas scale by kx * ky); the
    # geodesic area (about 1 µs per vertex) is only needed near the limit.
    frame = _LocalFrame.around(geom)
    if geom.area * frame.kx * frame.ky >= 1.05 * min_area_m2:
        return to_multipolygon(geom)
    area = area_m2(geom)
    if area < min_area_m2:
        location = _loc(geom.representative_point())
        raise GeometryError(
            "geometry_too_small",
            f"网格面积过小（{area:.1f} 平方米，至少 {min_area_m2:.0f} 平方米）。",
            f"The grid is too small ({area:.1f} m², at least {min_area_m2:.0f} m²).",
            location=location,
            details={"area_m2": round(area, 3), "min_area_m2": min_area_m2},
        )

    return to_multipolygon(geom)


# --------------------------------------------------------------------------- parent / siblings


def check_inside_parent(child: BaseGeometry, parent: BaseGeometry, *, tolerance_m: float = 1.0) -> None:
    """Raise ``geometry_outside_parent`` unless ``child`` lies inside ``parent`` (within ``tolerance_m``).

    What sticks out of the parent grown by the tolerance must be at most 0.5 m²
    (so a boundary traced a little off the parent's edge passes).  The error
    gives the area outside the parent (m², ``details["outside_area_m2"]``) and
    the location of a point of the offending part.
    """
    shapely.prepare(parent)
    if parent.covers(child):
        return
    outside = child.difference(parent)
    if area_m2(outside) == 0.0:
        return
    frame = _LocalFrame.around(outside)
    # Only the parent near the protruding part matters: clip before buffering (parents can be huge).
    margin = frame.metres_to_degrees(tolerance_m * 2 + 1.0)
    ominx, ominy, omaxx, omaxy = outside.bounds
    nearby_parent = parent.intersection(box(ominx - margin, ominy - margin, omaxx + margin, omaxy + margin))
    outside_m = frame.forward(outside)
    beyond_m = outside_m.difference(frame.forward(nearby_parent).buffer(tolerance_m, quad_segs=4))
    beyond_area = float(beyond_m.area)
    if beyond_area <= 0.5:
        return
    outside_area = area_m2(outside)
    location = _loc(frame.inverse(beyond_m.representative_point()))
    raise GeometryError(
        "geometry_outside_parent",
        f"网格超出上级网格范围 {outside_area:.1f} 平方米，请把边界画在上级网格之内。",
        f"The grid extends {outside_area:.1f} m² beyond its parent grid; keep it inside the parent.",
        location=location,
        details={
            "outside_area_m2": round(outside_area, 2),
            "beyond_tolerance_area_m2": round(beyond_area, 2),
            "tolerance_m": tolerance_m,
        },
    )


@dataclass(frozen=True)
class Overlap:
    """The part of a grid that overlaps one sibling grid."""

    sibling_id: Any
    sibling_name: str
    area_m2: float
    geometry: BaseGeometry


def find_overlaps(
    geom: BaseGeometry,
    siblings: Iterable[tuple[Any, str, BaseGeometry]],
    *,
    min_overlap_m2: float = 1.0,
) -> list[Overlap]:
    """Return the overlaps of ``geom`` with its ``siblings`` ``(id, name, geometry)``, largest first.

    Touching edges are not overlaps, nor are overlaps smaller than
    ``min_overlap_m2`` (slivers from two separately drawn versions of a shared edge).
    """
    rows = [(sid, name, g) for sid, name, g in siblings if g is not None and not g.is_empty]
    if not rows or geom is None or geom.is_empty:
        return []
    geoms = np.array([g for _sid, _name, g in rows], dtype=object)
    tree = shapely.STRtree(geoms)
    candidates = tree.query(geom, predicate="intersects")
    if len(candidates) == 0:
        return []
    # Interiors meet (in 2-D for polygons) -- touching edges or corners are left out cheaply.
    candidates = candidates[shapely.relate_pattern(geom, geoms[candidates], "T********")]
    overlaps: list[Overlap] = []
    for index in sorted(int(i) for i in candidates):
        part = _polygonal_or_none(geom.intersection(geoms[index]))
        if part is None:
            continue
        area = area_m2(part)
        if area >= min_overlap_m2:
            sid, name, _g = rows[index]
            overlaps.append(Overlap(sibling_id=sid, sibling_name=name, area_m2=area, geometry=part))
    overlaps.sort(key=lambda o: -o.area_m2)
    return overlaps


def assert_no_overlap(
    geom: BaseGeometry,
    siblings: Iterable[tuple[Any, str, BaseGeometry]],
    *,
    min_overlap_m2: float = 1.0,
) -> None:
    """Raise ``geometry_overlaps_sibling`` if ``geom`` overlaps any sibling (see :func:`find_overlaps`).

    The message names the sibling with the largest overlap and its area;
    ``details["overlaps"]`` lists every overlapping sibling.
    """
    overlaps = find_overlaps(geom, siblings, min_overlap_m2=min_overlap_m2)
    if not overlaps:
        return
    first = overlaps[0]
    others = len(overlaps) - 1
    more_zh = f"（另与 {others} 个网格重叠）" if others else ""
    more_en = f" (and {others} more grid{'s' if others > 1 else ''})" if others else ""
    raise GeometryError(
        "geometry_overlaps_sibling",
        f"与网格「{first.sibling_name}」重叠 {first.area_m2:.1f} 平方米{more_zh}。",
        f"Overlaps grid “{first.sibling_name}” by {first.area_m2:.1f} m²{more_en}.",
        location=_loc(first.geometry.representative_point()),
        details={
            "overlaps": [
                {"sibling_id": o.sibling_id, "sibling_name": o.sibling_name, "area_m2": round(o.area_m2, 2)}
                for o in overlaps
            ]
        },
    )


class CoverageOverlap(NamedTuple):
    """Two children of the same parent that overlap."""

    id_a: Any
    id_b: Any
    geometry: BaseGeometry
    area_m2: float


@dataclass(frozen=True)
class CoverageReport:
    """How completely and cleanly a parent's children cover it."""

    gaps: MultiPolygon | None
    gap_area_m2: float
    overlaps: list[CoverageOverlap] = field(default_factory=list)
    covered_ratio: float = 0.0


def coverage_report(
    parent: BaseGeometry,
    children: Iterable[tuple[Any, BaseGeometry]],
    *,
    min_area_m2: float = 1.0,
) -> CoverageReport:
    """Report the gaps (parent not covered by any child) and the overlaps between children.

    Gap parts and overlaps smaller than ``min_area_m2`` are ignored (noise).
    ``covered_ratio`` is the share of the parent's area covered by the children.
    """
    rows = [(cid, g) for cid, g in children if g is not None and not g.is_empty]
    parent_area = area_m2(parent)
    if not rows:
        gaps = to_multipolygon(parent) if parent_area >= min_area_m2 else None
        gap_area = parent_area if gaps is not None else 0.0
        return CoverageReport(gaps=gaps, gap_area_m2=gap_area, overlaps=[], covered_ratio=0.0)

    geoms = np.array([g for _cid, g in rows], dtype=object)
    union = shapely.union_all(geoms)
    gap_parts = [p for p in _polygonal_parts(parent.difference(union)) if area_m2(p) >= min_area_m2]
    gaps = MultiPolygon(gap_parts) if gap_parts else None
    gap_area = sum(area_m2(p) for p in gap_parts)
    covered = area_m2(parent.intersection(union))

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    overlaps: list[CoverageOverlap] = []
    if len(left):
        interior = shapely.relate_pattern(geoms[left], geoms[right], "T********")
        for i, j in zip(left[interior], right[interior], strict=True):
            part = _polygonal_or_none(geoms[i].intersection(geoms[j]))
            area = area_m2(part)
            if part is not None and area >= min_area_m2:
                overlaps.append(CoverageOverlap(rows[i][0], rows[j][0], part, area))
    overlaps.sort(key=lambda o: -o.area_m2)
    ratio = covered / parent_area if parent_area > 0 else 0.0
    return CoverageReport(gaps=gaps, gap_area_m2=gap_area, overlaps=overlaps, covered_ratio=min(ratio, 1.0))


# --------------------------------------------------------------------------- split / merge


def split_by_line(polygon: Polygon | MultiPolygon, line: LineString) -> list[Polygon]:
    """Cut a grid in pieces along a drawn line; return every piece, largest first.

    The line must cross the grid completely (both ends outside, or on the
    boundary).  For a MultiPolygon the parts the line crosses are split and
    the other parts are returned as pieces of their own, so nothing is
    dropped: the pieces' areas add up to the original area.

    Errors: ``split_line_invalid`` (not a LineString, fewer than 2 distinct
    points, invalid) and ``split_line_does_not_cross`` (fewer than 2 pieces).
    """
    if not isinstance(line, LineString) or line.is_empty or line.has_z:
        raise GeometryError(
            "split_line_invalid",
            "分割线必须是一条二维折线。",
            "The split line must be a 2-D line string.",
            details={"geometry_type": getattr(line, "geom_type", type(line).__name__)},
        )
    if len(line.coords) < 2 or not line.is_valid or line.length == 0:
        raise GeometryError(
            "split_line_invalid",
            "分割线至少需要两个不同的点。",
            "The split line needs at least two distinct points.",
            details={"reason": shapely.is_valid_reason(line)},
        )
    parts = _polygonal_parts(polygon)
    if not parts:
        raise GeometryError("geometry_not_polygon", "只能分割面状网格。", "Only polygon grids can be split.")

    pieces: list[Polygon] = []
    split_any = False
    for part in parts:
        if not line.intersects(part):
            pieces.append(part)
            continue
        result = _polygonal_parts(shapely_split(part, line))
        if len(result) >= 2:
            split_any = True
            pieces.extend(result)
        else:
            pieces.append(part)
    if not split_any:
        raise GeometryError(
            "split_line_does_not_cross",
            "分割线没有完整穿过网格，请让分割线的两端都落在网格之外。",
            "The split line does not cross the grid; both ends must lie outside the grid.",
            location=_loc(line.interpolate(0.5, normalized=True)),
        )
    pieces.sort(key=lambda p: -p.area)
    return pieces


def _drop_small_holes(polygon: Polygon, min_hole_m2: float) -> Polygon:
    holes = [ring for ring in polygon.interiors if area_m2(Polygon(ring)) >= min_hole_m2]
    if len(holes) == len(polygon.interiors):
        return polygon
    return Polygon(polygon.exterior, holes)


def _clean_union(geom: BaseGeometry, min_hole_m2: float) -> Polygon | MultiPolygon | None:
    parts = [_drop_small_holes(p, min_hole_m2) for p in _polygonal_parts(geom) if area_m2(p) >= min_hole_m2]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def merge_polygons(geoms: Sequence[BaseGeometry]) -> Polygon | MultiPolygon:
    """Merge adjacent grids into one; return the union (a single Polygon for adjacent polygons).

    At least 2 geometries are needed (``merge_too_few``) and they must form
    one connected group in which each shares an EDGE (> 0.5 m) with another --
    a common corner is not enough (``merge_not_adjacent``, ``details["groups"]``
    lists the connected groups by input index).  Holes smaller than 1 m² that
    floating-point noise along a shared edge leaves in the union are removed;
    real holes are kept.
    """
    items = list(geoms)
    if len(items) < 2:
        raise GeometryError(
            "merge_too_few",
            "至少需要选择两个网格才能合并。",
            "Select at least two grids to merge.",
        )
    for index, g in enumerate(items):
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
            raise GeometryError(
                "geometry_not_polygon",
                "只能合并面状网格。",
                "Only polygon grids can be merged.",
                details={"index": index},
            )

    frame = _LocalFrame.around(*items)
    metric = np.array([frame.forward(g) for g in items], dtype=object)
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="dwithin", distance=_SHARED_EDGE_SNAP_M)
    parent_of = list(range(len(items)))

    def find(i: int) -> int:
        while parent_of[i] != i:
            parent_of[i] = parent_of[parent_of[i]]
            i = parent_of[i]
        return i

    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j or find(i) == find(j):
            continue
        shared = metric[i].boundary.intersection(metric[j].buffer(_SHARED_EDGE_SNAP_M, quad_segs=2))
        if shared.length > _MIN_SHARED_EDGE_M or metric[i].intersection(metric[j]).area > _NOISE_AREA_M2:
            parent_of[find(i)] = find(j)

    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)
    if len(groups) > 1:
        group_list = sorted(groups.values())
        raise GeometryError(
            "merge_not_adjacent",
            "所选网格没有连成一片（需要共用一段边界，只有一个角相接不算），不能合并。",
            "The selected grids are not connected by shared edges (touching at a corner is not enough); "
            "they cannot be merged.",
            details={"groups": group_list},
        )

    merged = _clean_union(shapely.union_all(items), _NOISE_AREA_M2)
    all_polygons = all(g.geom_type == "Polygon" for g in items)
    if merged is not None and merged.geom_type == "MultiPolygon" and all_polygons:
        # Adjacent but separated by floating-point noise: close the hairline gap (a few cm) and retry.
        eps = frame.metres_to_degrees(_SHARED_EDGE_SNAP_M)
        closed = shapely.union_all(items).buffer(eps, join_style="mitre").buffer(-eps, join_style="mitre")
        merged = _clean_union(closed, _NOISE_AREA_M2)
    if merged is None or (all_polygons and merged.geom_type != "Polygon"):
        raise GeometryError(
            "merge_not_adjacent",
            "所选网格没有连成一片，不能合并。",
            "The selected grids do not form one connected area; they cannot be merged.",
        )
    return merged


# --------------------------------------------------------------------------- generation


def _check_h3_resolution(resolution: Any) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        resolution = -1
    if not H3_MIN_RESOLUTION <= int(resolution) <= H3_MAX_RESOLUTION:
        raise GeometryError(
            "generation_resolution_invalid",
            f"H3 分辨率必须是 {H3_MIN_RESOLUTION} 到 {H3_MAX_RESOLUTION} 之间的整数。",
            f"The H3 resolution must be an integer from {H3_MIN_RESOLUTION} to {H3_MAX_RESOLUTION}.",
            details={"min": H3_MIN_RESOLUTION, "max": H3_MAX_RESOLUTION},
        )
    return int(resolution)


def _too_many_cells(count: int) -> GeometryError:
    return GeometryError(
        "generation_too_many_cells",
        f"将生成约 {count} 个网格，超过上限 {MAX_GENERATED_CELLS} 个，请降低分辨率。",
        f"About {count} grids would be generated, more than the limit of {MAX_GENERATED_CELLS}; "
        "choose a coarser resolution.",
        details={"cell_count": count, "max_cells": MAX_GENERATED_CELLS},
    )


def _h3_cells_covering(parent: BaseGeometry, resolution: int) -> list[str]:
    """Every cell whose hexagon meets ``parent`` (centre inside OR crossing the boundary)."""
    shape = h3.geo_to_h3shape(parent)
    cells = set(h3.h3shape_to_cells(shape, resolution))
    experimental = getattr(h3, "h3shape_to_cells_experimental", None)
    if experimental is not None:
        cells.update(experimental(shape, resolution, contain="overlap"))
    else:  # pragma: no cover - h3 < 4.1: the ring of cells around every boundary vertex
        boundary_cells = {
            h3.latlng_to_cell(lat, lng, resolution) for lng, lat in shapely.get_coordinates(parent.boundary)
        }
        for cell in boundary_cells | {c for c in cells}:
            cells.update(h3.grid_disk(cell, 1))
    return sorted(cells)


def generate_h3(parent: BaseGeometry, *, resolution: int) -> list[tuple[str, Polygon | MultiPolygon]]:
    """Cover ``parent`` with H3 hexagons of ``resolution`` (5..11), clipped to the parent.

    Returns ``(h3 cell id, geometry)`` pairs: whole hexagons inside the parent,
    clipped hexagons along its boundary (a MultiPolygon where a concave parent
    cuts a hexagon in two).  Together they cover the parent exactly, without
    overlaps.  Pieces under 1 m² are dropped.  Errors:
    ``generation_resolution_invalid``, ``generation_too_many_cells`` (> 20,000).
    """
    resolution = _check_h3_resolution(resolution)
    parent_area = area_m2(parent)
    if parent_area <= 0:
        raise GeometryError("geometry_empty", "上级网格为空。", "The parent grid is empty.")
    estimate = int(parent_area / h3.average_hexagon_area(resolution, unit="m^2"))
    if estimate > MAX_GENERATED_CELLS:
        raise _too_many_cells(estimate)
    cells = _h3_cells_covering(parent, resolution)
    if len(cells) > MAX_GENERATED_CELLS:
        raise _too_many_cells(len(cells))

    # h3's cell_to_boundary is (lat, lng); shapely wants (lng, lat).
    hexagons = np.array(
        [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]) for cell in cells], dtype=object
    )
    shapely.prepare(parent)
    inside = shapely.contains_properly(parent, hexagons)
    clipped = hexagons.copy()
    crossing = ~inside
    if crossing.any():
        clipped[crossing] = shapely.intersection(hexagons[crossing], parent)
    result: list[tuple[str, Polygon | MultiPolygon]] = []
    for cell, geom, whole in zip(cells, clipped, inside, strict=True):
        if whole:
            result.append((cell, geom))
            continue
        piece = _polygonal_or_none(geom, min_part_m2=_NOISE_AREA_M2)
        if piece is not None:
            result.append((cell, piece))
    return result


def generate_voronoi(
    parent: BaseGeometry,
    *,
    seeds: Sequence[tuple[Any, Point]],
) -> list[tuple[Any, Polygon | MultiPolygon]]:
    """Divide ``parent`` into Voronoi cells around ``seeds`` ``(id, Point)`` (e.g. outlets), clipped to it.

    Distances are metric (computed in a local frame, not in degrees).  Each
    returned ``(id, cell)`` contains its seed.  Seeds outside the parent are
    ignored (they do not appear in the result).  Errors: ``generation_no_seeds``
    (fewer than 2 seeds inside), ``generation_duplicate_seeds`` (two seeds at
    the same place).
    """
    shapely.prepare(parent)
    inside = [(sid, pt) for sid, pt in seeds if pt is not None and not pt.is_empty and parent.covers(pt)]
    if len(inside) < 2:
        raise GeometryError(
            "generation_no_seeds",
            "上级网格内至少需要两个种子点（如网点位置）才能生成泰森多边形。",
            "At least two seed points (e.g. outlets) inside the parent grid are needed for Voronoi cells.",
            details={"seeds_inside": len(inside)},
        )
    seen: dict[tuple[float, float], Any] = {}
    for sid, pt in inside:
        key = (round(pt.x, 9), round(pt.y, 9))
        if key in seen:
            raise GeometryError(
                "generation_duplicate_seeds",
                "两个种子点位置相同，无法划分。",
                "Two seed points are at the same place.",
                location=_loc(pt),
                details={"seed_ids": [seen[key], sid]},
            )
        seen[key] = sid

    frame = _LocalFrame.around(parent)
    parent_m = frame.forward(parent)
    points_m = shapely.multipoints([frame.forward(pt) for _sid, pt in inside])
    minx, miny, maxx, maxy = parent_m.bounds
    pad = max(maxx - minx, maxy - miny) + 1000.0
    envelope = box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    cells_m = list(shapely.voronoi_polygons(points_m, extend_to=envelope, ordered=True).geoms)
    seeds_m = [frame.forward(pt) for _sid, pt in inside]
    if len(cells_m) != len(inside) or not all(c.covers(s) for c, s in zip(cells_m, seeds_m, strict=True)):
        # Defensive: match by containment should GEOS ever reorder.
        tree = shapely.STRtree(cells_m)
        cells_m = [cells_m[int(tree.query(s, predicate="intersects")[0])] for s in seeds_m]
    cells = shapely.intersection(
        np.array([frame.inverse(c) for c in cells_m], dtype=object), parent
    )
    result: list[tuple[Any, Polygon | MultiPolygon]] = []
    for (sid, _pt), cell in zip(inside, cells, strict=True):
        piece = _polygonal_or_none(cell)
        if piece is not None:
            result.append((sid, piece))
    return result


@dataclass(frozen=True)
class BalancedResult:
    """Cells of roughly equal point counts and how balanced they came out."""

    cells: list[Polygon | MultiPolygon]
    counts: list[int]
    target: int
    mean: float
    min: int
    max: int
    cv: float
    within_tolerance_share: float
    ignored_points: int = 0


def generate_balanced(
    parent: BaseGeometry,
    *,
    points: Sequence[tuple[float, float]] | np.ndarray,
    target: int,
    tolerance: float = 0.25,
) -> BalancedResult:
    """Split ``parent`` into cells of about ``target`` points each (households, customers).

    ``k = max(1, round(n / target))`` cells are made by recursive weighted
    bisection: the points of a region are split in two groups sized in
    proportion to the cells each side still has to make, across the longer
    side of the points' bounding box (measured in metres), with a straight cut
    midway between the two bordering points.  Cells come from cutting, so they
    cover the parent without overlap.  Points outside the parent are ignored
    (``ignored_points``).  ``within_tolerance_share`` is the share of cells
    whose count is within ``tolerance`` (relative) of ``target``; ``cv`` is
    the coefficient of variation of the counts.

    Errors: ``generation_target_invalid`` (target < 1),
    ``generation_no_points`` (no point inside the parent).
    """
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 1:
        raise GeometryError(
            "generation_target_invalid",
            "每个网格的目标户数必须是正整数。",
            "The target count per grid must be a positive integer.",
            details={"target": target if isinstance(target, int | float) else None},
        )
    xy = np.asarray(points, dtype=float).reshape(-1, 2) if len(points) else np.empty((0, 2))
    total = len(xy)
    if total:
        finite = np.isfinite(xy).all(axis=1)
        xy = xy[finite]
        shapely.prepare(parent)
        xy = xy[shapely.intersects_xy(parent, xy[:, 0], xy[:, 1])]
    n = len(xy)
    if n == 0:
        raise GeometryError(
            "generation_no_points",
            "上级网格内没有客户或住户点，无法按户数划分。",
            "There are no customer or household points inside the parent grid to balance on.",
            details={"points_given": total},
        )

    k = max(1, math.floor(n / target + 0.5))
    lat0 = (parent.bounds[1] + parent.bounds[3]) / 2
    x_scale = math.cos(math.radians(lat0))  # longitude degrees -> "latitude degrees" of distance
    pminx, pminy, pmaxx, pmaxy = parent.bounds
    pad = 1.0

    leaves: list[tuple[BaseGeometry, int]] = []

    def bisect(region: BaseGeometry, index: np.ndarray, parts: int) -> None:
        if parts == 1:
            leaves.append((region, len(index)))
            return
        k_left = parts // 2
        want_left = round(len(index) * k_left / parts)
        sub = xy[index]
        extents = (np.ptp(sub[:, 0]) * x_scale, np.ptp(sub[:, 1]))
        axes = (0, 1) if extents[0] >= extents[1] else (1, 0)
        cut: float | None = None
        for axis in axes:
            values = np.sort(sub[:, axis])
            # Nearest split position to the wanted one where the two bordering points differ.
            distinct = np.nonzero(values[1:] > values[:-1])[0] + 1  # positions m with values[m-1] < values[m]
            if len(distinct) == 0:
                continue
            m = int(distinct[np.argmin(np.abs(distinct - want_left))])
            cut = float((values[m - 1] + values[m]) / 2)
            break
        if cut is None:  # every point at the same place: halve the region geometrically instead
            axis = axes[0]
            rb = region.bounds
            cut = (rb[axis] + rb[axis + 2]) / 2
        if axis == 0:
            left_box = box(pminx - pad, pminy - pad, cut, pmaxy + pad)
            right_box = box(cut, pminy - pad, pmaxx + pad, pmaxy + pad)
        else:
            left_box = box(pminx - pad, pminy - pad, pmaxx + pad, cut)
            right_box = box(pminx - pad, cut, pmaxx + pad, pmaxy + pad)
        on_left = xy[index, axis] <= cut
        left_region = _polygonal_or_none(region.intersection(left_box)) or MultiPolygon()
        right_region = _polygonal_or_none(region.intersection(right_box)) or MultiPolygon()
        bisect(left_region, index[on_left], k_left)
        bisect(right_region, index[~on_left], parts - k_left)

    bisect(_polygonal_or_none(parent) or parent, np.arange(n), k)

    cells = [geom for geom, _count in leaves]
    counts = [count for _geom, count in leaves]
    arr = np.asarray(counts, dtype=float)
    mean = float(arr.mean())
    cv = float(arr.std() / mean) if mean > 0 else 0.0
    within = float(np.mean(np.abs(arr - target) <= tolerance * target))
    return BalancedResult(
        cells=cells,
        counts=counts,
        target=int(target),
        mean=mean,
        min=int(arr.min()),
        max=int(arr.max()),
        cv=cv,
        within_tolerance_share=within,
        ignored_points=total - n,
    )

