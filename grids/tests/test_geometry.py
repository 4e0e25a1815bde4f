# covers: GR-4, GR-10
"""Fast tests of the pure grid geometry algorithms in ``grids.geometry`` (no database)."""

from __future__ import annotations

import math

import h3
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from grids.geometry import (
    GeometryError,
    area_m2,
    assert_no_overlap,
    check_inside_parent,
    coverage_report,
    find_overlaps,
    generate_balanced,
    generate_h3,
    generate_voronoi,
    local_metric_transformer,
    merge_polygons,
    split_by_line,
    to_multipolygon,
    validate_grid_geometry,
    vertex_count,
)

# A local origin in Changsha; metres -> degrees measured independently with the geodesic.
LNG0, LAT0 = 112.98, 28.20
_GEOD = Geod(ellps="WGS84")
M_PER_DEG_LNG = _GEOD.inv(LNG0 - 0.005, LAT0, LNG0 + 0.005, LAT0)[2] / 0.01
M_PER_DEG_LAT = _GEOD.inv(LNG0, LAT0 - 0.005, LNG0, LAT0 + 0.005)[2] / 0.01


def ll(x_m: float, y_m: float) -> tuple[float, float]:
    """(lng, lat) of a point x_m east and y_m north of the origin."""
    return (LNG0 + x_m / M_PER_DEG_LNG, LAT0 + y_m / M_PER_DEG_LAT)


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """Axis-aligned rectangle given in metres from the origin."""
    return Polygon([ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1)])


def poly(*pts_m: tuple[float, float], holes: list[list[tuple[float, float]]] | None = None) -> Polygon:
    return Polygon([ll(*p) for p in pts_m], [[ll(*p) for p in h] for h in holes or []])


def code_of(exc_info: pytest.ExceptionInfo[GeometryError]) -> str:
    return exc_info.value.code


def assert_near(
    location: tuple[float, float] | None, expected: tuple[float, float], metres: float = 1.0
) -> None:
    assert location is not None
    dx = (location[0] - expected[0]) * M_PER_DEG_LNG
    dy = (location[1] - expected[1]) * M_PER_DEG_LAT
    assert math.hypot(dx, dy) <= metres, (location, expected)


# --------------------------------------------------------------------------- helpers


def test_area_m2_matches_a_known_square() -> None:
    square = rect(0, 0, 1000, 1000)
    assert area_m2(square) == pytest.approx(1_000_000, rel=1e-3)
    assert area_m2(LineString([ll(0, 0), ll(1, 1)])) == 0.0
    assert area_m2(None) == 0.0


def test_to_multipolygon_and_vertex_count() -> None:
    square = rect(0, 0, 100, 100)
    assert to_multipolygon(square).geom_type == "MultiPolygon"
    assert to_multipolygon(GeometryCollection([square, Point(ll(0, 0))])).equals(MultiPolygon([square]))
    assert vertex_count(square) == 5


def test_local_metric_transformer_gives_metres() -> None:
    transformer = local_metric_transformer(rect(0, 0, 1000, 1000))
    x0, y0 = transformer.transform(*ll(0, 0))
    x1, y1 = transformer.transform(*ll(1000, 0))
    assert math.hypot(x1 - x0, y1 - y0) == pytest.approx(1000, rel=1e-3)


# --------------------------------------------------------------------------- validation


def test_valid_polygon_is_returned_unchanged_as_multipolygon() -> None:
    square = rect(0, 0, 200, 200)
    result = validate_grid_geometry(square)
    assert result.geom_type == "MultiPolygon"
    assert result.geoms[0].equals_exact(square, 0)


@pytest.mark.parametrize("geom", [None, Polygon(), MultiPolygon()])
def test_empty_geometry_is_rejected(geom) -> None:
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(geom)
    assert code_of(exc_info) == "geometry_empty"
    assert exc_info.value.message and exc_info.value.message_en


@pytest.mark.parametrize(
    "geom",
    [
        Point(LNG0, LAT0),
        LineString([ll(0, 0), ll(100, 100)]),
        GeometryCollection([rect(0, 0, 100, 100), LineString([ll(0, 0), ll(200, 200)])]),
    ],
)
def test_non_polygon_is_rejected(geom) -> None:
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(geom)
    assert code_of(exc_info) == "geometry_not_polygon"


def test_polygon_with_z_is_rejected() -> None:
    geom = Polygon([(*ll(0, 0), 10), (*ll(100, 0), 10), (*ll(100, 100), 10), (*ll(0, 100), 10)])
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(geom)
    assert code_of(exc_info) == "geometry_3d"


def _circle(n_points: int) -> Polygon:
    angles = np.linspace(0, 2 * np.pi, n_points, endpoint=False)
    return Polygon([ll(1000 * math.cos(a), 1000 * math.sin(a)) for a in angles])


def test_too_many_vertices_is_rejected_and_the_limit_itself_passes() -> None:
    too_many = _circle(50_000)  # + closing point = 50,001 coordinates
    assert vertex_count(too_many) == 50_001
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(too_many)
    assert code_of(exc_info) == "geometry_too_many_vertices"
    assert exc_info.value.details["vertex_count"] == 50_001
    assert validate_grid_geometry(_circle(49_999)).geom_type == "MultiPolygon"


def test_coordinates_in_metres_are_wrong_crs() -> None:
    geom = box(12_580_000, 3_270_000, 12_581_000, 3_271_000)
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(geom)
    assert code_of(exc_info) == "geometry_wrong_crs"
    assert exc_info.value.location == geom.exterior.coords[0]  # the first offending vertex


def test_swapped_lat_lng_is_wrong_crs() -> None:
    swapped = shapely.transform(rect(0, 0, 500, 500), lambda xy: xy[:, ::-1])
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(swapped)
    assert code_of(exc_info) == "geometry_wrong_crs"


def test_tokyo_is_outside_china() -> None:
    tokyo = box(139.69, 35.68, 139.70, 35.69)
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(tokyo)
    assert code_of(exc_info) == "geometry_outside_china"
    assert exc_info.value.location is not None and exc_info.value.location[0] > 139


def test_polygon_straddling_the_border_names_the_first_outside_vertex() -> None:
    geom = Polygon([(137.0, 35.0), (138.5, 35.0), (138.5, 35.5), (137.0, 35.5)])
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(geom)
    assert code_of(exc_info) == "geometry_outside_china"
    assert exc_info.value.location == (138.5, 35.0)


def test_bow_tie_is_rejected_with_the_crossing_location() -> None:
    bow_tie = poly((0, 0), (400, 400), (400, 0), (0, 400))
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(bow_tie)
    err = exc_info.value
    assert err.code == "geometry_invalid"
    assert err.details["reason"] == "self_intersection"
    assert_near(err.location, ll(200, 200))


def test_self_intersecting_polygon_is_rejected_never_made_valid() -> None:
    # A twisted outline: the edge (300,300)-(600,100) runs across the edge (450,0)-(450,400).
    geom = poly((0, 0), (300, 0), (300, 300), (600, 100), (600, 0), (450, 0), (450, 400), (0, 400))
    reason = shapely.is_valid_reason(geom)
    assert reason != "Valid Geometry"
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(geom)
    err = exc_info.value
    assert err.code == "geometry_invalid"
    assert err.details["reason"] == "self_intersection"
    # The crossing of the edge (300,300)-(600,100) with the edge (450,0)-(450,400) is at (450, 200).
    assert_near(err.location, ll(450, 200))
    assert "450" not in err.message  # the location is in lng/lat, not metres


def test_hole_outside_shell_is_rejected() -> None:
    geom = poly((0, 0), (200, 0), (200, 200), (0, 200), holes=[[(300, 300), (350, 300), (350, 350)]])
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(geom)
    assert exc_info.value.code == "geometry_invalid"
    assert exc_info.value.details["reason"] == "hole_outside_shell"
    assert_near(exc_info.value.location, ll(300, 300))


def test_ring_self_intersection_and_nested_shells_have_their_own_reasons() -> None:
    ring_touch = poly((0, 0), (400, 0), (400, 400), (200, 0), (0, 400))
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(ring_touch)
    assert exc_info.value.details["reason"] == "ring_self_intersection"
    assert_near(exc_info.value.location, ll(200, 0))

    nested = MultiPolygon([rect(0, 0, 400, 400), rect(100, 100, 200, 200)])
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(nested)
    assert exc_info.value.details["reason"] == "nested_shells"


def test_too_small_is_rejected() -> None:
    with pytest.raises(GeometryError) as exc_info:
        validate_grid_geometry(rect(0, 0, 5, 5))
    assert exc_info.value.code == "geometry_too_small"
    assert exc_info.value.details["area_m2"] == pytest.approx(25, rel=0.01)
    assert validate_grid_geometry(rect(0, 0, 5, 5), min_area_m2=10).geom_type == "MultiPolygon"


# --------------------------------------------------------------------------- parent and siblings


PARENT = rect(0, 0, 1000, 1000)


def test_child_inside_parent_passes() -> None:
    check_inside_parent(rect(100, 100, 900, 900), PARENT)
    check_inside_parent(PARENT, PARENT)


def test_child_half_a_metre_outside_passes_the_one_metre_tolerance() -> None:
    check_inside_parent(rect(500, 0, 1000.5, 1000), PARENT)


def test_child_ten_metres_outside_fails_with_area_and_location() -> None:
    child = rect(500, 0, 1010, 1000)
    with pytest.raises(GeometryError) as exc_info:
        check_inside_parent(child, PARENT)
    err = exc_info.value
    assert err.code == "geometry_outside_parent"
    assert err.details["outside_area_m2"] == pytest.approx(10 * 1000, rel=0.01)
    assert err.location is not None
    assert PARENT.distance(Point(err.location)) * M_PER_DEG_LNG > 1.0  # beyond the tolerance
    assert child.covers(Point(err.location))


def test_touching_siblings_pass() -> None:
    grid = rect(0, 0, 500, 500)
    siblings = [
        (1, "东", rect(500, 0, 1000, 500)),
        (2, "北", rect(0, 500, 500, 1000)),
        (3, "角", rect(500, 500, 900, 900)),  # corner only
    ]
    assert find_overlaps(grid, siblings) == []
    assert_no_overlap(grid, siblings)


def test_overlapping_sibling_is_named_with_the_overlap_area() -> None:
    grid = rect(0, 0, 500, 500)
    siblings = [
        (1, "东区", rect(500, 0, 1000, 500)),  # touches
        (7, "芙蓉社区", rect(480, 0, 1000, 500)),  # overlaps a 20 m x 500 m strip
        (9, "小角", rect(490, 490, 600, 600)),  # overlaps 10 m x 10 m
    ]
    overlaps = find_overlaps(grid, siblings)
    assert [o.sibling_id for o in overlaps] == [7, 9]
    assert overlaps[0].area_m2 == pytest.approx(20 * 500, rel=0.01)
    assert overlaps[1].area_m2 == pytest.approx(100, rel=0.01)
    with pytest.raises(GeometryError) as exc_info:
        assert_no_overlap(grid, siblings)
    err = exc_info.value
    assert err.code == "geometry_overlaps_sibling"
    assert "芙蓉社区" in err.message and "重叠" in err.message
    assert [d["sibling_id"] for d in err.details["overlaps"]] == [7, 9]
    assert err.details["overlaps"][0]["area_m2"] == pytest.approx(10_000, rel=0.01)


def test_sub_square_metre_sliver_along_a_shared_edge_is_not_an_overlap() -> None:
    grid = rect(0, 0, 500, 500)
    sibling = rect(499.999, 0, 1000, 500)  # 1 mm x 500 m = 0.5 m²
    assert find_overlaps(grid, [(1, "邻居", sibling)]) == []


def test_coverage_report_finds_a_planted_gap_and_overlap() -> None:
    children = [
        ("a", rect(0, 0, 500, 500)),
        ("b", rect(500, 0, 1000, 500)),
        ("c", rect(0, 500, 500, 1000)),
        ("d", rect(450, 500, 1000, 950)),  # overlaps c by 50 x 450; leaves a 550 x 50 gap at the top
    ]
    report = coverage_report(PARENT, children)
    expected_gap = area_m2(rect(500, 950, 1000, 1000))
    expected_overlap = area_m2(rect(450, 500, 500, 950))
    assert report.gaps is not None
    assert report.gap_area_m2 == pytest.approx(expected_gap, rel=1e-3)
    assert len(report.overlaps) == 1
    overlap = report.overlaps[0]
    assert {overlap.id_a, overlap.id_b} == {"c", "d"}
    assert overlap.area_m2 == pytest.approx(expected_overlap, rel=1e-3)
    assert report.covered_ratio == pytest.approx(1 - expected_gap / area_m2(PARENT), rel=1e-6)

    clean = coverage_report(PARENT, children[:3] + [("d", rect(500, 500, 1000, 1000))])
    assert clean.gaps is None and clean.overlaps == [] and clean.covered_ratio == pytest.approx(1.0)


# --------------------------------------------------------------------------- split / merge


def test_split_pieces_add_up_and_are_valid() -> None:
    square = rect(0, 0, 1000, 1000)
    line = LineString([ll(300, -50), ll(700, 1050)])
    pieces = split_by_line(square, line)
    assert len(pieces) == 2
    assert all(p.is_valid and p.geom_type == "Polygon" for p in pieces)
    assert sum(p.area for p in pieces) == pytest.approx(square.area, rel=1e-9)
    assert sum(area_m2(p) for p in pieces) == pytest.approx(area_m2(square), rel=1e-9)
    assert pieces[0].area >= pieces[1].area
    assert pieces[0].intersection(pieces[1]).area == pytest.approx(0, abs=1e-15)


def test_split_multipolygon_splits_only_the_crossed_part() -> None:
    multi = MultiPolygon([rect(0, 0, 1000, 1000), rect(2000, 0, 2500, 500)])
    pieces = split_by_line(multi, LineString([ll(500, -10), ll(500, 1010)]))
    assert len(pieces) == 3
    assert sum(area_m2(p) for p in pieces) == pytest.approx(area_m2(multi), rel=1e-9)


def test_line_that_stops_inside_does_not_split() -> None:
    with pytest.raises(GeometryError) as exc_info:
        split_by_line(rect(0, 0, 1000, 1000), LineString([ll(-100, 500), ll(500, 500)]))
    assert exc_info.value.code == "split_line_does_not_cross"


@pytest.mark.parametrize(
    "line",
    [Point(LNG0, LAT0), LineString(), LineString([ll(10, 10), ll(10, 10)]), rect(0, 0, 10, 10)],
)
def test_invalid_split_line(line) -> None:
    with pytest.raises(GeometryError) as exc_info:
        split_by_line(rect(0, 0, 1000, 1000), line)
    assert exc_info.value.code == "split_line_invalid"


def test_merge_two_adjacent_squares_gives_one_polygon_without_holes() -> None:
    a, b = rect(0, 0, 500, 500), rect(500, 0, 1000, 500)
    merged = merge_polygons([a, b])
    assert merged.geom_type == "Polygon"
    assert len(merged.interiors) == 0
    assert area_m2(merged) == pytest.approx(area_m2(a) + area_m2(b), rel=1e-9)


def test_merge_with_floating_noise_along_the_shared_edge() -> None:
    a = poly((0, 0), (500, 0), (500, 250), (500, 500), (0, 500))
    # b's copy of the shared edge is off by ~1e-9 degrees (0.1 mm), and has an extra vertex.
    b = Polygon([
        ll(500, 0), ll(1000, 0), ll(1000, 500), ll(500, 500),
        (ll(500, 300)[0] + 1e-9, ll(500, 300)[1]), (ll(500, 100)[0] - 1e-9, ll(500, 100)[1]),
    ])
    merged = merge_polygons([a, b])
    assert merged.geom_type == "Polygon"
    assert len(merged.interiors) == 0
    assert area_m2(merged) == pytest.approx(area_m2(a) + area_m2(b), rel=1e-6)


def test_merge_keeps_real_holes() -> None:
    hole = [(100, 100), (200, 100), (200, 200), (100, 200)]
    ring = poly((0, 0), (500, 0), (500, 500), (0, 500), holes=[hole])
    merged = merge_polygons([ring, rect(500, 0, 1000, 500)])
    assert merged.geom_type == "Polygon" and len(merged.interiors) == 1


def test_squares_touching_only_at_a_corner_are_not_adjacent() -> None:
    with pytest.raises(GeometryError) as exc_info:
        merge_polygons([rect(0, 0, 500, 500), rect(500, 500, 1000, 1000)])
    assert exc_info.value.code == "merge_not_adjacent"
    assert exc_info.value.details["groups"] == [[0], [1]]


def test_merge_needs_two() -> None:
    with pytest.raises(GeometryError) as exc_info:
        merge_polygons([rect(0, 0, 500, 500)])
    assert exc_info.value.code == "merge_too_few"


def test_merge_chain_of_three() -> None:
    merged = merge_polygons([rect(0, 0, 100, 100), rect(200, 0, 300, 100), rect(100, 0, 200, 100)])
    assert merged.geom_type == "Polygon"


# --------------------------------------------------------------------------- generation


def _assert_tiles(parent, geoms, *, rel: float = 1e-4) -> None:
    """The geometries cover ``parent`` (area within ``rel``) with no pairwise overlap above 1 m².

    Areas are compared in the lng/lat plane: the geodesic area of a polygon changes a little
    when vertices are added along a straight lng/lat edge (the edges then follow other
    geodesics), which would hide exactness behind a measuring artefact.
    """
    union = shapely.union_all(geoms)
    assert union.area == pytest.approx(parent.area, rel=rel)
    assert parent.difference(union).area <= parent.area * rel
    assert union.difference(parent).area <= parent.area * rel
    report = coverage_report(parent, list(enumerate(geoms)), min_area_m2=1.0)
    assert report.overlaps == []


CONCAVE = poly((0, 0), (3000, 0), (3000, 1000), (1000, 1000), (1000, 3000), (0, 3000))  # an L, 5 km²


def test_h3_cells_cover_the_parent_without_overlap() -> None:
    cells = generate_h3(CONCAVE, resolution=9)
    ids = [cell for cell, _geom in cells]
    assert len(ids) == len(set(ids))
    assert all(h3.get_resolution(cell) == 9 for cell in ids)
    geoms = [geom for _cell, geom in cells]
    assert all(g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid for g in geoms)
    assert all(CONCAVE.buffer(1e-9).covers(g) for g in geoms)
    _assert_tiles(CONCAVE, geoms, rel=1e-4)
    # Whole hexagons inside, clipped ones along the edge.
    assert any(len(g.exterior.coords) == 7 for g in geoms if g.geom_type == "Polygon")


@pytest.mark.parametrize("resolution", [4, 12, "8", 8.0, True])
def test_h3_resolution_out_of_range(resolution) -> None:
    with pytest.raises(GeometryError) as exc_info:
        generate_h3(CONCAVE, resolution=resolution)
    assert exc_info.value.code == "generation_resolution_invalid"


def test_h3_refuses_too_many_cells() -> None:
    with pytest.raises(GeometryError) as exc_info:
        generate_h3(rect(0, 0, 20_000, 20_000), resolution=11)
    assert exc_info.value.code == "generation_too_many_cells"


def test_voronoi_cells_cover_the_parent_and_contain_their_seeds() -> None:
    seeds = [
        ("o1", Point(ll(500, 500))),
        ("o2", Point(ll(2500, 500))),
        ("o3", Point(ll(500, 2500))),
        ("o4", Point(ll(900, 900))),
        ("o5", Point(ll(1500, 200))),
        ("outside", Point(ll(2500, 2500))),  # in the L's notch: ignored
    ]
    cells = generate_voronoi(CONCAVE, seeds=seeds)
    by_id = dict(cells)
    assert set(by_id) == {"o1", "o2", "o3", "o4", "o5"}
    for sid, pt in seeds[:5]:
        assert by_id[sid].covers(pt)
    _assert_tiles(CONCAVE, list(by_id.values()), rel=1e-6)


def test_voronoi_needs_two_seeds_inside() -> None:
    with pytest.raises(GeometryError) as exc_info:
        generate_voronoi(CONCAVE, seeds=[("a", Point(ll(500, 500))), ("b", Point(ll(2500, 2500)))])
    assert exc_info.value.code == "generation_no_seeds"


def _random_points_in(parent, n: int, seed: int = 42) -> np.ndarray:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = parent.bounds
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))
        xy = xy[shapely.contains_xy(parent, xy[:, 0], xy[:, 1])]
        found.append(xy)
        count += len(xy)
    return np.concatenate(found)[:n]


def test_balanced_cells_cover_the_parent_with_balanced_counts() -> None:
    points = _random_points_in(CONCAVE, 10_000)
    result = generate_balanced(CONCAVE, points=points, target=800)
    assert len(result.cells) in (12, 13)
    assert sum(result.counts) == 10_000
    assert result.cv < 0.35
    assert result.min <= result.mean <= result.max
    assert 0.0 <= result.within_tolerance_share <= 1.0
    assert all(g.is_valid for g in result.cells)
    _assert_tiles(CONCAVE, result.cells, rel=1e-9)
    # Each count is the number of points really inside its cell.
    for cell, count in zip(result.cells, result.counts, strict=True):
        in_cell = int(shapely.intersects_xy(cell, points[:, 0], points[:, 1]).sum())
        assert in_cell == count


def test_balanced_ignores_points_outside_and_handles_duplicates() -> None:
    inside = np.array([ll(100, 100)] * 50 + [ll(2000, 500)] * 50)
    outside = np.array([ll(2500, 2500)] * 7)
    result = generate_balanced(CONCAVE, points=np.concatenate([inside, outside]), target=50)
    assert result.ignored_points == 7
    assert sorted(result.counts) == [50, 50]
    _assert_tiles(CONCAVE, result.cells, rel=1e-9)


def test_balanced_errors() -> None:
    with pytest.raises(GeometryError) as exc_info:
        generate_balanced(CONCAVE, points=[ll(100, 100)], target=0)
    assert exc_info.value.code == "generation_target_invalid"
    with pytest.raises(GeometryError) as exc_info:
        generate_balanced(CONCAVE, points=[ll(2500, 2500)], target=10)
    assert exc_info.value.code == "generation_no_points"
    with pytest.raises(GeometryError) as exc_info:
        generate_balanced(CONCAVE, points=[], target=10)
    assert exc_info.value.code == "generation_no_points"
