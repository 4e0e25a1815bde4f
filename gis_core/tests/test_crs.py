"""Tests for gis_core.crs (requirement GC-1): WGS-84 / GCJ-02 / BD-09 conversion.

Vectors and tolerances come from ../shared/research/real-data.md, section 7.
No database and no Django settings are needed: GEOS works without settings.
"""

from __future__ import annotations

import math

import pytest

from gis_core.crs import (
    CRS,
    UnknownCRSError,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert_coords,
    convert_geometry,
    convert_point,
    convert_shapely,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    parse_crs,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Standard BD-09 formulas: bd09_to_gcj02 is the inverse of gcj02_to_bd09 only to
# ~1e-6 deg (measured max 1.9e-6 deg, ~0.2 m, over all of China; 9.6e-7 around
# Changsha).  Round trips with a BD-09 leg therefore use this tolerance; pure
# WGS<->GCJ round trips (exact iterative inverse) use 1e-9.
BD_ROUND_TRIP_TOL = 2.5e-6


def near(a, b, tol):
    """Max-norm closeness of two (lng, lat) pairs."""
    return max(abs(a[0] - b[0]), abs(a[1] - b[1])) <= tol


def haversine_m(a, b):
    """Great-circle distance in metres between two (lng, lat) points."""
    r = 6371008.8
    lng1, lat1, lng2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


# --------------------------------------------------------------------------- reference vectors

COORDTRANSFORM_INPUT = (116.404, 39.915)


def test_coordtransform_wgs84_to_gcj02():
    assert near(wgs84_to_gcj02(*COORDTRANSFORM_INPUT), (116.41024449916938, 39.91640428150164), 1e-9)


def test_coordtransform_gcj02_to_bd09():
    assert near(gcj02_to_bd09(*COORDTRANSFORM_INPUT), (116.41036949371029, 39.92133699351021), 1e-9)


def test_coordtransform_bd09_to_gcj02():
    assert near(bd09_to_gcj02(*COORDTRANSFORM_INPUT), (116.39762729119315, 39.90865673957631), 1e-9)


def test_coordtransform_gcj02_to_wgs84_is_exact_inverse_not_one_step():
    result = gcj02_to_wgs84(*COORDTRANSFORM_INPUT)
    assert near(result, (116.39775575457485, 39.913596235609404), 1e-9)
    # coordtransform's own gcj02towgs84 is the one-step approximation; ours must differ from it.
    one_step = (116.39775550083061, 39.91359571849836)
    assert not near(result, one_step, 1e-7)
    # ...and really be the inverse.
    assert near(wgs84_to_gcj02(*result), COORDTRANSFORM_INPUT, 1e-12)


def test_bit_exact_with_coordtransform():
    """sqrt(x*x+y*y) and coordtransform's operation order reproduce its vectors to the last bit."""
    assert wgs84_to_gcj02(*COORDTRANSFORM_INPUT) == (116.41024449916938, 39.91640428150164)
    assert gcj02_to_bd09(*COORDTRANSFORM_INPUT) == (116.41036949371029, 39.92133699351021)
    assert bd09_to_gcj02(*COORDTRANSFORM_INPUT) == (116.39762729119315, 39.90865673957631)


# eviltransform tests, given there as (lat, lng): Shanghai, Shenzhen, Beijing.
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), EVILTRANSFORM)
def test_eviltransform_vectors(wlat, wlng, glat, glng):
    assert near(wgs84_to_gcj02(wlng, wlat), (glng, glat), 1e-9)
    assert near(gcj02_to_wgs84(glng, glat), (wlng, wlat), 1e-9)


@pytest.mark.parametrize(
    ("wgs", "amap"),
    [
        ((113.004, 28.8293), (113.009714627, 28.8261968316)),
        ((113.004, 27.8293), (113.009628906, 27.8260112847)),
    ],
)
def test_pygcj_amap_rows_within_1e4(wgs, amap):
    # AMap's convert API adds metre-level noise: only a tolerance test.
    assert near(wgs84_to_gcj02(*wgs), amap, 1e-4)


# --------------------------------------------------------------------------- round trips

CHANGSHA_GRID = [
    (112.6 + i * 0.1, 27.9 + j * 0.1) for i in range(8) for j in range(8)
]  # 112.6-113.3 E, 27.9-28.6 N
OTHER_CITIES = [
    (116.397, 39.909),  # Beijing
    (121.473, 31.230),  # Shanghai
    (113.264, 23.129),  # Guangzhou
    (104.066, 30.573),  # Chengdu
    (126.535, 45.803),  # Harbin
    (87.617, 43.826),  # Urumqi
    (91.117, 29.647),  # Lhasa
    (110.199, 20.044),  # Haikou
]
ROUND_TRIP_POINTS = CHANGSHA_GRID + OTHER_CITIES


@pytest.mark.parametrize("point", ROUND_TRIP_POINTS)
def test_round_trip_wgs_gcj_wgs(point):
    assert near(gcj02_to_wgs84(*wgs84_to_gcj02(*point)), point, 1e-9)


@pytest.mark.parametrize("point", ROUND_TRIP_POINTS)
def test_round_trip_gcj_wgs_gcj(point):
    assert near(wgs84_to_gcj02(*gcj02_to_wgs84(*point)), point, 1e-9)


@pytest.mark.parametrize("point", ROUND_TRIP_POINTS)
def test_round_trip_wgs_bd_wgs(point):
    assert near(bd09_to_wgs84(*wgs84_to_bd09(*point)), point, BD_ROUND_TRIP_TOL)


@pytest.mark.parametrize("point", ROUND_TRIP_POINTS)
def test_round_trip_gcj_bd_gcj(point):
    assert near(bd09_to_gcj02(*gcj02_to_bd09(*point)), point, BD_ROUND_TRIP_TOL)


@pytest.mark.parametrize("point", ROUND_TRIP_POINTS)
def test_composites_equal_two_steps(point):
    assert near(wgs84_to_bd09(*point), gcj02_to_bd09(*wgs84_to_gcj02(*point)), 1e-12)
    assert near(bd09_to_wgs84(*point), gcj02_to_wgs84(*bd09_to_gcj02(*point)), 1e-12)


# --------------------------------------------------------------------------- China rectangle


@pytest.mark.parametrize(
    "point",
    [
        (139.69, 35.69),  # Tokyo
        (-0.12, 51.5),  # London
        (-74.006, 40.713),  # New York
        (151.21, -33.87),  # Sydney
        (72.0, 30.0),  # just west of the rectangle
        (120.0, 56.0),  # just north of it
    ],
)
def test_out_of_china_points_unchanged(point):
    assert out_of_china(*point)
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        assert func(*point) == point
    for src in CRS:
        for dst in CRS:
            assert convert_point(*point, src=src, dst=dst) == point


def test_out_of_china_rectangle():
    assert not out_of_china(112.94, 28.23)  # Changsha
    assert not out_of_china(116.404, 39.915)  # Beijing
    assert not out_of_china(72.004, 0.8293)  # corners are inside
    assert not out_of_china(137.8347, 55.8271)
    assert out_of_china(72.0039, 28.0)
    assert out_of_china(137.8348, 28.0)
    assert out_of_china(100.0, 0.8292)
    assert out_of_china(100.0, 55.8272)


def test_gcj_shift_at_changsha_is_about_650_m():
    wgs = (112.94, 28.23)
    gcj = wgs84_to_gcj02(*wgs)
    assert 550 <= haversine_m(wgs, gcj) <= 750
    # East and south, as in real-data.md §1 (+0.0055 deg lon, -0.0034 deg lat).
    assert 0.004 < gcj[0] - wgs[0] < 0.007
    assert -0.005 < gcj[1] - wgs[1] < -0.002


def test_results_are_float_tuples():
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        for point in ((113, 28), (0, 0)):  # ints in, floats out (inside and outside China)
            result = func(*point)
            assert isinstance(result, tuple) and len(result) == 2
            assert all(type(v) is float for v in result)


# --------------------------------------------------------------------------- CRS names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", CRS.WGS84),
        ("WGS84", CRS.WGS84),
        ("WGS-84", CRS.WGS84),
        ("wgs-84", CRS.WGS84),
        ("EPSG:4326", CRS.WGS84),
        ("epsg:4326", CRS.WGS84),
        ("4326", CRS.WGS84),
        ("  wgs84 ", CRS.WGS84),
        ("gcj02", CRS.GCJ02),
        ("GCJ-02", CRS.GCJ02),
        ("AMap", CRS.GCJ02),
        ("amap", CRS.GCJ02),
        ("tencent", CRS.GCJ02),
        ("Tencent", CRS.GCJ02),
        ("bd09", CRS.BD09),
        ("BD-09", CRS.BD09),
        ("BD09", CRS.BD09),
        ("baidu", CRS.BD09),
        ("BAIDU", CRS.BD09),
        (CRS.GCJ02, CRS.GCJ02),
    ],
)
def test_parse_crs_aliases(name, expected):
    assert parse_crs(name) is expected


def test_crs_is_str_enum():
    assert CRS.WGS84 == "wgs84" and CRS.GCJ02 == "gcj02" and CRS.BD09 == "bd09"
    assert str(CRS.BD09) == "bd09"
    assert [c.value for c in CRS] == ["wgs84", "gcj02", "bd09"]


@pytest.mark.parametrize("name", ["", "   ", None, "mercator", "EPSG:3857", "3857", "gcj", 4326])
def test_parse_crs_rejects_unknown(name):
    with pytest.raises(UnknownCRSError) as excinfo:
        parse_crs(name)
    message = str(excinfo.value)
    assert "未知的坐标系" in message and "Unknown coordinate reference system" in message
    for accepted in ("wgs84", "WGS-84", "EPSG:4326", "4326", "GCJ-02", "amap", "tencent", "BD-09", "baidu"):
        assert accepted in message


def test_unknown_crs_error_is_value_error():
    assert issubclass(UnknownCRSError, ValueError)
    with pytest.raises(ValueError):
        parse_crs("nope")


# --------------------------------------------------------------------------- convert_point / convert_coords


def test_convert_point_dispatch():
    p = (112.94, 28.23)
    assert convert_point(*p, src=CRS.WGS84, dst=CRS.GCJ02) == wgs84_to_gcj02(*p)
    assert convert_point(*p, src=CRS.GCJ02, dst=CRS.WGS84) == gcj02_to_wgs84(*p)
    assert convert_point(*p, src=CRS.GCJ02, dst=CRS.BD09) == gcj02_to_bd09(*p)
    assert convert_point(*p, src=CRS.BD09, dst=CRS.GCJ02) == bd09_to_gcj02(*p)
    assert convert_point(*p, src=CRS.WGS84, dst=CRS.BD09) == wgs84_to_bd09(*p)
    assert convert_point(*p, src=CRS.BD09, dst=CRS.WGS84) == bd09_to_wgs84(*p)
    for crs in CRS:
        assert convert_point(*p, src=crs, dst=crs) == p
    assert convert_point(*p, src="amap", dst="EPSG:4326") == gcj02_to_wgs84(*p)


def test_convert_point_is_keyword_only():
    with pytest.raises(TypeError):
        convert_point(112.94, 28.23, CRS.WGS84, CRS.GCJ02)  # type: ignore[misc]


def test_convert_point_rejects_unknown_crs():
    with pytest.raises(UnknownCRSError):
        convert_point(112.94, 28.23, src="mars", dst=CRS.WGS84)


def test_convert_coords_nested_any_depth():
    poly = [
        [[112.9, 28.1], [113.0, 28.1], [113.0, 28.2], [112.9, 28.1]],
        [[112.95, 28.12], [112.97, 28.12], [112.96, 28.15], [112.95, 28.12]],
    ]
    multi = [poly, [[(112.7, 28.3, 55.5), (112.8, 28.3, 60.0), (112.8, 28.4, 1.0), (112.7, 28.3, 55.5)]]]
    snapshot = repr(multi)
    out = convert_coords(multi, src=CRS.GCJ02, dst=CRS.WGS84)
    assert repr(multi) == snapshot  # input untouched
    assert out is not multi
    for part_in, part_out in zip(multi, out, strict=True):
        for ring_in, ring_out in zip(part_in, part_out, strict=True):
            for pos_in, pos_out in zip(ring_in, ring_out, strict=True):
                assert isinstance(pos_out, list)
                assert tuple(pos_out[:2]) == gcj02_to_wgs84(pos_in[0], pos_in[1])
                assert pos_out[2:] == list(pos_in[2:])  # altitude kept
    # A single position and a flat list of positions work too.
    assert convert_coords([112.94, 28.23], src="wgs84", dst="gcj02") == list(wgs84_to_gcj02(112.94, 28.23))
    line = [[112.94, 28.23], [112.95, 28.24]]
    assert convert_coords(line, src=CRS.WGS84, dst=CRS.BD09) == [list(wgs84_to_bd09(*p)) for p in line]
    assert convert_coords([], src=CRS.WGS84, dst=CRS.BD09) == []


def test_convert_coords_rejects_garbage():
    with pytest.raises(TypeError):
        convert_coords([[112.9]], src=CRS.WGS84, dst=CRS.GCJ02)
    with pytest.raises(TypeError):
        convert_coords("112.9,28.1", src=CRS.WGS84, dst=CRS.GCJ02)


# --------------------------------------------------------------------------- GEOS geometries


def _geos():
    from django.contrib.gis import geos  # GEOS does not need Django settings

    return geos


def _polygon_with_hole(geos, srid=4326):
    shell = ((112.9, 28.1), (113.0, 28.1), (113.0, 28.2), (112.9, 28.2), (112.9, 28.1))
    hole = ((112.95, 28.12), (112.97, 28.12), (112.96, 28.15), (112.95, 28.12))
    return geos.Polygon(shell, hole, srid=srid)


def _assert_geos_converted(geos_in, geos_out, src, dst):
    assert geos_out.geom_type == geos_in.geom_type
    assert type(geos_out) is type(geos_in)
    assert geos_out.srid == 4326
    assert geos_out.num_coords == geos_in.num_coords

    def flat(coords):
        if coords and isinstance(coords[0], float):
            return [coords]
        return [p for c in coords for p in flat(c)]

    points_in, points_out = flat(geos_in.coords), flat(geos_out.coords)
    assert len(points_in) == len(points_out)
    for p_in, p_out in zip(points_in, points_out, strict=True):
        assert tuple(p_out) == convert_point(p_in[0], p_in[1], src=src, dst=dst)


@pytest.mark.parametrize(("src", "dst"), [(CRS.GCJ02, CRS.WGS84), (CRS.WGS84, CRS.BD09)])
def test_convert_geometry_polygon_with_hole(src, dst):
    geos = _geos()
    poly = _polygon_with_hole(geos)
    before = poly.wkt
    out = convert_geometry(poly, src=src, dst=dst)
    assert poly.wkt == before and poly.srid == 4326  # input unchanged
    assert out is not poly
    assert out.num_interior_rings == 1
    _assert_geos_converted(poly, out, src, dst)
    assert out.valid


def test_convert_geometry_multipolygon():
    geos = _geos()
    a = _polygon_with_hole(geos)
    b = geos.Polygon(((112.6, 27.9), (112.7, 27.9), (112.7, 28.0), (112.6, 27.9)))
    multi = geos.MultiPolygon(a, b, srid=4326)
    before = multi.wkt
    out = convert_geometry(multi, src=CRS.GCJ02, dst=CRS.WGS84)
    assert multi.wkt == before and multi.srid == 4326
    assert isinstance(out, geos.MultiPolygon) and len(out) == 2
    assert out[0].num_interior_rings == 1 and out[1].num_interior_rings == 0
    _assert_geos_converted(multi, out, CRS.GCJ02, CRS.WGS84)


def test_convert_geometry_point_without_srid():
    geos = _geos()
    pt = geos.Point(112.94, 28.23)
    out = convert_geometry(pt, src=CRS.WGS84, dst=CRS.GCJ02)
    assert isinstance(out, geos.Point) and out.srid == 4326
    assert out.coords == wgs84_to_gcj02(112.94, 28.23)
    assert pt.coords == (112.94, 28.23) and pt.srid is None


def test_convert_geometry_other_types():
    geos = _geos()
    line = geos.LineString((112.9, 28.1), (113.0, 28.2), srid=4326)
    mpoint = geos.MultiPoint(geos.Point(112.9, 28.1), geos.Point(113.0, 28.2), srid=4326)
    mline = geos.MultiLineString(line, geos.LineString((112.7, 28.0), (112.8, 28.3)), srid=4326)
    collection = geos.GeometryCollection(
        geos.Point(112.9, 28.1), line, _polygon_with_hole(geos), mpoint, srid=4326
    )
    for geom in (line, mpoint, mline, collection):
        out = convert_geometry(geom, src=CRS.BD09, dst=CRS.WGS84)
        _assert_geos_converted(geom, out, CRS.BD09, CRS.WGS84)


def test_convert_geometry_keeps_z_and_handles_empty():
    geos = _geos()
    pt = geos.Point(112.94, 28.23, 42.0, srid=4326)
    out = convert_geometry(pt, src=CRS.WGS84, dst=CRS.GCJ02)
    assert out.hasz and out.z == 42.0
    assert (out.x, out.y) == wgs84_to_gcj02(112.94, 28.23)
    empty = geos.GEOSGeometry("POLYGON EMPTY")
    out = convert_geometry(empty, src=CRS.WGS84, dst=CRS.GCJ02)
    assert out.empty and out.geom_type == "Polygon" and out.srid == 4326


def test_convert_geometry_same_crs_returns_new_copy():
    geos = _geos()
    poly = _polygon_with_hole(geos)
    out = convert_geometry(poly, src=CRS.WGS84, dst=CRS.WGS84)
    assert out is not poly and out.equals_exact(poly, 0) and out.srid == 4326


def test_convert_geometry_rejects_projected_srid():
    geos = _geos()
    pt = geos.Point(12_572_000.0, 3_276_000.0, srid=3857)
    with pytest.raises(ValueError):
        convert_geometry(pt, src=CRS.WGS84, dst=CRS.GCJ02)


# --------------------------------------------------------------------------- shapely geometries


def _shapely_vertices(geom):
    import shapely

    return [tuple(c) for c in shapely.get_coordinates(geom, include_z=geom.has_z)]


def _assert_shapely_converted(geom_in, geom_out, src, dst):
    assert geom_out.geom_type == geom_in.geom_type
    assert geom_out is not geom_in
    v_in, v_out = _shapely_vertices(geom_in), _shapely_vertices(geom_out)
    assert len(v_in) == len(v_out)
    for p_in, p_out in zip(v_in, v_out, strict=True):
        assert p_out[:2] == convert_point(p_in[0], p_in[1], src=src, dst=dst)
        assert p_out[2:] == p_in[2:]


def test_convert_shapely_polygon_multipolygon_point():
    from shapely.geometry import MultiPolygon, Point, Polygon

    shell = [(112.9, 28.1), (113.0, 28.1), (113.0, 28.2), (112.9, 28.2), (112.9, 28.1)]
    hole = [(112.95, 28.12), (112.97, 28.12), (112.96, 28.15), (112.95, 28.12)]
    poly = Polygon(shell, [hole])
    multi = MultiPolygon([poly, Polygon([(112.6, 27.9), (112.7, 27.9), (112.7, 28.0)])])
    pt = Point(112.94, 28.23)
    for geom in (poly, multi, pt):
        before = geom.wkb
        out = convert_shapely(geom, src=CRS.GCJ02, dst=CRS.WGS84)
        assert geom.wkb == before
        _assert_shapely_converted(geom, out, CRS.GCJ02, CRS.WGS84)
    assert len(convert_shapely(poly, src=CRS.GCJ02, dst=CRS.WGS84).interiors) == 1


def test_convert_shapely_other_types_and_z():
    from shapely.geometry import GeometryCollection, LineString, MultiLineString, MultiPoint, Point

    line = LineString([(112.9, 28.1, 5.0), (113.0, 28.2, 6.0)])
    collection = GeometryCollection(
        [
            Point(112.9, 28.1),
            LineString([(112.7, 28.0), (112.8, 28.3)]),
            MultiPoint([(112.6, 28.0), (112.7, 28.1)]),
        ]
    )
    mline = MultiLineString([[(112.7, 28.0), (112.8, 28.3)], [(112.9, 28.1), (113.0, 28.2)]])
    for geom in (line, collection, mline):
        out = convert_shapely(geom, src=CRS.WGS84, dst=CRS.BD09)
        _assert_shapely_converted(geom, out, CRS.WGS84, CRS.BD09)
    assert convert_shapely(line, src=CRS.WGS84, dst=CRS.BD09).has_z


def test_convert_geometry_nested_collection_from_wkt():
    geos = _geos()
    nested = geos.GEOSGeometry(
        "GEOMETRYCOLLECTION (POINT (112.9 28.1), GEOMETRYCOLLECTION (LINESTRING (112.7 28 , 112.8 28.3), "
        "MULTIPOINT ((112.6 28), (112.7 28.1))), POLYGON EMPTY)",
        srid=4326,
    )
    before = nested.wkt
    out = convert_geometry(nested, src=CRS.GCJ02, dst=CRS.BD09)
    assert nested.wkt == before
    assert isinstance(out[1], geos.GeometryCollection) and out[2].empty
    _assert_geos_converted(nested, out, CRS.GCJ02, CRS.BD09)
    z = geos.GEOSGeometry(
        "GEOMETRYCOLLECTION Z (POINT Z (112.9 28.1 7), LINESTRING Z (112.7 28 1, 112.8 28.3 2))"
    )
    out = convert_geometry(z, src=CRS.WGS84, dst=CRS.GCJ02)
    assert out.hasz and out.srid == 4326
    assert out[0].coords == (*wgs84_to_gcj02(112.9, 28.1), 7.0)
    assert [c[2] for c in out[1].coords] == [1.0, 2.0]


def test_convert_geometry_linearring():
    geos = _geos()
    ring = geos.LinearRing((112.9, 28.1), (113.0, 28.1), (113.0, 28.2), (112.9, 28.1))
    out = convert_geometry(ring, src=CRS.WGS84, dst=CRS.GCJ02)
    _assert_geos_converted(ring, out, CRS.WGS84, CRS.GCJ02)
