# covers: GR-4, GC-1, SEC-6
"""Tests for grids.fileio: grid files in and out, content sniffing, zip safety, datums. No database."""

from __future__ import annotations

import io
import json
import os
import random
import tempfile
import zipfile

import numpy as np
import pyproj
import pytest
import shapely
from pyogrio import raw as ogr_raw
from shapely.geometry import MultiPolygon, Polygon, box

from gis_core.crs import CRS, convert_shapely
from grids import fileio
from grids.fileio import FeatureIn, GridFileError, detect_format, read_grid_file, write_grid_file

FORMATS = ["geojson", "shapefile", "kml", "gpkg"]
TOLERANCE = 1e-7

# Three grids in Changsha: a plain square, one with a hole, one MultiPolygon.
SQUARE = Polygon([(112.98, 28.19), (112.99, 28.19), (112.99, 28.2), (112.98, 28.2), (112.98, 28.19)])
WITH_HOLE = Polygon(
    [(113.0, 28.19), (113.02, 28.19), (113.02, 28.21), (113.0, 28.21), (113.0, 28.19)],
    [[(113.005, 28.195), (113.005, 28.2), (113.01, 28.2), (113.01, 28.195), (113.005, 28.195)]],
)
MULTI = MultiPolygon([
    Polygon([(112.9, 28.1), (112.913456789, 28.1), (112.913456789, 28.11), (112.9, 28.11), (112.9, 28.1)]),
    Polygon([(112.92, 28.1), (112.93, 28.1), (112.93, 28.11), (112.92, 28.1)]),
])


def _grids() -> list[tuple[dict, object]]:
    return [
        ({"name": "芙蓉区五一网格", "code": "G-001", "households": 120, "客户经理姓名": "张三"}, SQUARE),
        ({"name": "天心区坡子街网格（含湖）", "code": "G-002", "households": None, "客户经理姓名": "李四"}, WITH_HOLE),
        ({"name": "岳麓区两片网格", "code": "G-003", "households": 7, "客户经理姓名": None}, MULTI),
    ]


def _as_multi(geom):
    return MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom


def _same(a, b, tolerance: float = TOLERANCE) -> bool:
    """Same parts, holes and vertex count, and every vertex within ``tolerance`` of the other shape.

    (``normalize()`` + ``equals_exact`` is not usable: a 1e-10 wobble can change the start vertex
    normalize picks.)
    """
    a, b = _as_multi(a), _as_multi(b)
    structure = [[len(p.interiors) for p in g.geoms] for g in (a, b)]
    return (
        structure[0] == structure[1]
        and shapely.get_num_coordinates(a) == shapely.get_num_coordinates(b)
        and shapely.hausdorff_distance(a, b) <= tolerance
    )


def _error(excinfo) -> GridFileError:
    return excinfo.value


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _shapefile_members(geoms, names, *, crs: str, encoding: str = "UTF-8") -> dict[str, bytes]:
    """Write a one-field Shapefile with pyogrio and return its members by extension."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "layer.shp")
        ogr_raw.write(
            path, shapely.to_wkb(np.array(geoms, dtype=object)), [np.array(names, dtype=object)], ["name"],
            driver="ESRI Shapefile", geometry_type="Polygon", crs=crs, encoding=encoding,
        )
        return {
            f"layer{ext}": open(os.path.join(tmp, f"layer{ext}"), "rb").read()
            for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")
            if os.path.exists(os.path.join(tmp, f"layer{ext}"))
        }


def _feature_collection(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def _feature(geometry, **properties) -> dict:
    return {"type": "Feature", "properties": properties,
            "geometry": None if geometry is None else shapely.geometry.mapping(geometry)}


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_geometry_and_chinese_names(fmt):
    grids = _grids()
    payload, content_type, suffix = write_grid_file(grids, fmt=fmt)

    assert detect_format(payload) == fmt
    assert suffix == fileio.EXPORT_FORMATS[fmt][1] and content_type
    features = read_grid_file(payload, filename=f"export{suffix}", crs="wgs84")

    assert [f.index for f in features] == [0, 1, 2]
    assert [f.properties["name"] for f in features] == [props["name"] for props, _ in grids]
    for feature, (_, original) in zip(features, grids, strict=True):
        assert not feature.geometry.has_z
        assert _same(feature.geometry, original), (fmt, feature.geometry.wkt)
    assert len(features[1].geometry.interiors if features[1].geometry.geom_type == "Polygon"
               else features[1].geometry.geoms[0].interiors) == 1
    assert len(_as_multi(features[2].geometry).geoms) == 2


def test_round_trip_keeps_other_attributes_geojson():
    features = read_grid_file(write_grid_file(_grids(), fmt="geojson")[0], filename="a.geojson", crs="wgs84")
    assert features[0].properties == {"name": "芙蓉区五一网格", "code": "G-001", "households": 120,
                                      "客户经理姓名": "张三"}
    assert features[1].properties["households"] is None
    assert type(features[0].properties["households"]) is int


def test_shapefile_export_shortens_long_field_names_and_explains_them():
    payload, content_type, suffix = write_grid_file(_grids(), fmt="shapefile")
    assert (content_type, suffix) == ("application/zip", ".zip")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = set(archive.namelist())
        assert {"grids.shp", "grids.shx", "grids.dbf", "grids.prj", "grids.cpg", "fields.txt"} <= names
        assert archive.read("grids.cpg").strip().upper() in (b"UTF-8", b"UTF8")
        explanation = archive.read("fields.txt").decode("utf-8")
    # "households" is 10 bytes and fits; "客户经理姓名" is 18 UTF-8 bytes and is cut to 3 characters.
    assert "客户经\t客户经理姓名" in explanation
    assert "households" not in explanation
    features = read_grid_file(payload, filename="x.zip", crs="wgs84")
    assert features[0].properties["客户经"] == "张三"
    assert features[0].properties["households"] == 120 and type(features[0].properties["households"]) is int


def test_shapefile_field_name_mapping_is_deterministic_and_unique():
    names = ["population_total", "population_2024", "population", "网格名称很长很长"]
    mapping = fileio._shapefile_field_names(names)
    assert mapping == {
        "population_total": "populati_1",
        "population_2024": "populati_2",
        "网格名称很长很长": "网格名",
    }
    assert fileio._shapefile_field_names(names) == mapping
    assert all(len(short.encode()) <= 10 for short in mapping.values())


@pytest.mark.parametrize("fmt", FORMATS)
def test_gcj02_round_trip_returns_the_original_wgs84(fmt):
    grids = _grids()
    payload, _, _ = write_grid_file(grids, fmt=fmt, crs="gcj02")

    # What is in the file really is GCJ-02 (about 500 m away from WGS-84 in Changsha).
    as_wgs84 = read_grid_file(payload, filename="f", crs="wgs84")
    assert _same(as_wgs84[0].geometry, convert_shapely(SQUARE, src=CRS.WGS84, dst=CRS.GCJ02), 1e-6)
    assert not _same(as_wgs84[0].geometry, SQUARE, 1e-4)

    back = read_grid_file(payload, filename="f", crs="gcj02")
    for feature, (_, original) in zip(back, grids, strict=True):
        assert _same(feature.geometry, original), fmt


def test_geojson_export_names_a_non_wgs84_datum_and_no_crs_member():
    document = json.loads(write_grid_file(_grids(), fmt="geojson", crs="bd09")[0])
    assert document["type"] == "FeatureCollection"
    assert document["datum"] == "bd09"
    assert "crs" not in document
    plain = json.loads(write_grid_file(_grids(), fmt="geojson")[0])
    assert "datum" not in plain and "crs" not in plain


def test_bd09_import_converts_to_wgs84():
    in_bd09 = convert_shapely(SQUARE, src=CRS.WGS84, dst=CRS.BD09)
    features = read_grid_file(_feature_collection([_feature(in_bd09, name="百度")]), filename="b.json",
                              crs="baidu")
    # BD-09 -> GCJ-02 is the closed-form formula, good to about 2e-6 degrees.
    assert _same(features[0].geometry, SQUARE, 1e-5)


# --------------------------------------------------------------------------- declared CRS and encodings


def test_shapefile_in_web_mercator_is_reprojected_to_wgs84():
    to_mercator = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    mercator = shapely.transform(
        WITH_HOLE, lambda xy: np.column_stack(to_mercator.transform(xy[:, 0], xy[:, 1]))
    )
    assert mercator.bounds[0] > 1e7  # really metres
    members = _shapefile_members([mercator], ["墨卡托网格"], crs="EPSG:3857")
    assert b"Mercator" in members["layer.prj"]

    features = read_grid_file(_zip(members), filename="mercator.zip", crs="wgs84")
    assert features[0].properties["name"] == "墨卡托网格"
    assert _same(features[0].geometry, WITH_HOLE, 1e-9)


def test_projected_shapefile_without_prj_is_refused_rather_than_misplaced():
    members = _shapefile_members([box(1e7, 3e6, 1.001e7, 3.001e6)], ["无投影"], crs="EPSG:3857")
    del members["layer.prj"]
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(_zip(members), filename="x.zip", crs="wgs84")
    assert _error(excinfo).code == "file_crs_missing"


def test_gbk_dbf_without_cpg_reads_chinese():
    members = _shapefile_members([SQUARE], ["开福区网格"], crs="EPSG:4326", encoding="GBK")
    members.pop("layer.cpg", None)
    assert "开福区网格".encode("gbk") in members["layer.dbf"]
    features = read_grid_file(_zip(members), filename="gbk.zip", crs="wgs84")
    assert features[0].properties["name"] == "开福区网格"


def test_utf8_dbf_without_cpg_reads_chinese():
    members = _shapefile_members([SQUARE], ["雨花区网格"], crs="EPSG:4326", encoding="UTF-8")
    members.pop("layer.cpg", None)
    features = read_grid_file(_zip(members), filename="utf8.zip", crs="wgs84")
    assert features[0].properties["name"] == "雨花区网格"


def test_cpg_is_honoured():
    members = _shapefile_members([SQUARE], ["望城区网格"], crs="EPSG:4326", encoding="GBK")
    assert members["layer.cpg"].strip().upper() in (b"GBK", b"CP936", b"936")
    features = read_grid_file(_zip(members), filename="gbk.zip", crs="wgs84")
    assert features[0].properties["name"] == "望城区网格"


def test_shapefile_in_a_folder_of_the_zip_reads():
    members = _shapefile_members([SQUARE], ["文件夹"], crs="EPSG:4326")
    nested = {f"导出/{name}": content for name, content in members.items()}
    nested["__MACOSX/导出/._layer.shp"] = b"junk"
    features = read_grid_file(_zip(nested), filename="nested.zip", crs="wgs84")
    assert features[0].properties["name"] == "文件夹"


def test_gpkg_prefers_layer_named_grids_then_first_polygon_layer():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "multi.gpkg")
        for layer, geom, name in [("pois", shapely.Point(113, 28), "点"), ("zones", SQUARE, "区域"),
                                  ("grids", WITH_HOLE, "网格")]:
            ogr_raw.write(path, shapely.to_wkb(np.array([geom], dtype=object)),
                          [np.array([name], dtype=object)], ["name"], driver="GPKG", layer=layer,
                          crs="EPSG:4326", geometry_type=geom.geom_type)
            if layer == "zones":
                without_grids = open(path, "rb").read()
        with_grids = open(path, "rb").read()
    assert read_grid_file(with_grids, filename="m.gpkg", crs="wgs84")[0].properties["name"] == "网格"
    assert read_grid_file(without_grids, filename="m.gpkg", crs="wgs84")[0].properties["name"] == "区域"


def test_gpkg_in_utm_is_reprojected():
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True)
    utm = shapely.transform(SQUARE, lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1])))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "utm.gpkg")
        ogr_raw.write(path, shapely.to_wkb(np.array([utm], dtype=object)), [np.array(["UTM"], dtype=object)],
                      ["name"], driver="GPKG", layer="zones", crs="EPSG:32649", geometry_type="Polygon")
        data = open(path, "rb").read()
    assert _same(read_grid_file(data, filename="u.gpkg", crs="wgs84")[0].geometry, SQUARE, 1e-9)


# --------------------------------------------------------------------------- KML, GeoJSON details

KML_FROM_GOOGLE_EARTH = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>网格</name><Folder><name>开福区</name>
<Placemark><name>四方坪网格</name><description>手工绘制</description>
<Polygon><tessellate>1</tessellate><outerBoundaryIs><LinearRing><coordinates>
112.98,28.19,0 112.99,28.19,0 112.99,28.2,0 112.98,28.2,0 112.98,28.19,0
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
</Folder></Document></kml>
"""


def test_kml_with_a_polygon_reads_name_and_drops_zero_altitude():
    features = read_grid_file(KML_FROM_GOOGLE_EARTH.encode(), filename="ge.kml", crs="wgs84")
    assert len(features) == 1
    assert features[0].properties == {"name": "四方坪网格", "description": "手工绘制"}
    assert not features[0].geometry.has_z
    assert _same(features[0].geometry, SQUARE)


def test_kml_with_real_altitude_keeps_z_for_the_validator():
    data = KML_FROM_GOOGLE_EARTH.replace(",0 ", ",35 ").replace(",0\n", ",35\n").encode()
    assert read_grid_file(data, filename="ge.kml", crs="wgs84")[0].geometry.has_z


def test_kml_with_entity_declarations_is_refused():
    data = KML_FROM_GOOGLE_EARTH.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">]>',
    ).encode()
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="ge.kml", crs="wgs84")
    assert _error(excinfo).code == "file_kml_unsafe"


def test_null_geometry_and_z_are_handed_to_the_validator():
    z_square = shapely.force_3d(SQUARE, 12.0)
    data = _feature_collection([_feature(None, name="无几何"), _feature(z_square, name="三维")])
    features = read_grid_file(data, filename="g.geojson", crs="gcj02")
    assert features[0] == FeatureIn(0, {"name": "无几何"}, None)
    assert features[1].geometry.has_z
    assert shapely.get_coordinates(features[1].geometry, include_z=True)[0, 2] == 12.0


def test_geojson_saved_in_gbk_is_accepted():
    data = json.dumps({"type": "FeatureCollection", "features": [_feature(SQUARE, name="岳麓")]},
                      ensure_ascii=False).encode("gbk")
    assert read_grid_file(data, filename="g.geojson", crs="wgs84")[0].properties["name"] == "岳麓"


def test_single_feature_geojson_reads():
    data = json.dumps(_feature(SQUARE, name="单个")).encode()
    features = read_grid_file(b"\xef\xbb\xbf  " + data, filename="one.json", crs="wgs84")
    assert [f.properties["name"] for f in features] == ["单个"]


# --------------------------------------------------------------------------- sniffing (SEC-6)


def test_geojson_named_shp_still_reads():
    data = _feature_collection([_feature(SQUARE, name="改名")])
    assert detect_format(data) == "geojson"
    assert read_grid_file(data, filename="grids.shp", crs="wgs84")[0].properties["name"] == "改名"


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    random.Random(4).randbytes(2048),
    b"SQLite format 3\x00" + bytes(200),  # a plain SQLite database, not a GeoPackage
    b"<html><body>kml</body></html>",
    b"[1, 2, 3]",
])
def test_other_content_named_geojson_is_unsupported(data):
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="grids.geojson", crs="wgs84")
    assert _error(excinfo).code == "file_format_unsupported"
    assert detect_format(data) == "unknown"


def test_json_that_is_not_geojson_is_unsupported():
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(b'{"hello": "world"}', filename="a.geojson", crs="wgs84")
    assert _error(excinfo).code == "file_format_unsupported"


@pytest.mark.parametrize("data", [b'{"type": "FeatureCollection", "features": [', b"PK\x03\x04" + bytes(100)])
def test_unparseable_file_is_corrupt_without_leaking_paths(data):
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="坏文件.geojson", crs="wgs84")
    error = _error(excinfo)
    assert error.code == "file_corrupt"
    assert error.problems[0].index is None
    for text in (error.message, error.message_en):
        assert "gridfile-" not in text and tempfile.gettempdir() not in text and "Traceback" not in text
        assert "\n" not in text


# --------------------------------------------------------------------------- zip safety (SEC-6)


def test_zip_bomb_is_refused_before_extraction(monkeypatch):
    extracted = []
    monkeypatch.setattr(fileio, "_extract_member", lambda *args: extracted.append(args))
    buffer = io.BytesIO()
    chunk = bytes(4 * 1024 * 1024)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("bomb.shp", mode="w", force_zip64=True) as member:
            for _ in range(75):  # 300 MB of zeros, in 4 MB chunks
                member.write(chunk)
        archive.writestr("bomb.shx", b"x")
        archive.writestr("bomb.dbf", b"x")
    data = buffer.getvalue()
    assert len(data) < 5 * 1024 * 1024

    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="bomb.zip", crs="wgs84")
    assert _error(excinfo).code == "file_zip_bomb"
    assert extracted == []


def test_zip_with_excessive_compression_ratio_is_refused():
    data = _zip({"a.shp": bytes(8 * 1024 * 1024), "a.shx": b"x", "a.dbf": b"x"})
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="ratio.zip", crs="wgs84")
    assert _error(excinfo).code == "file_zip_bomb"


def test_zip_member_larger_than_declared_never_inflates_past_the_declared_size():
    members = _shapefile_members([SQUARE], ["伪造"], crs="EPSG:4326")
    data = bytearray(_zip(members))
    # Halve the uncompressed size the central directory declares for the .shp.
    position = data.find(b"PK\x01\x02")
    while data[position + 46:position + 46 + len(b"layer.shp")] != b"layer.shp":
        position = data.find(b"PK\x01\x02", position + 4)
    declared = int.from_bytes(data[position + 24:position + 28], "little")
    data[position + 24:position + 28] = (declared // 2).to_bytes(4, "little")
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(bytes(data), filename="forged.zip", crs="wgs84")
    assert _error(excinfo).code in ("file_zip_bomb", "file_corrupt")


@pytest.mark.parametrize("name", ["../evil.shp", "ok/../../evil.shp", "/etc/evil.shp", "C:/evil.shp",
                                  "..\\evil.shp"])
def test_zip_with_path_traversal_is_refused(name, monkeypatch):
    extracted = []
    monkeypatch.setattr(fileio, "_extract_member", lambda *args: extracted.append(args))
    info = zipfile.ZipInfo("placeholder")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info.filename = name  # ZipInfo() would normalise the name; a hostile archive does not
        archive.writestr(info, b"x")
        archive.writestr("good.shx", b"x")
        archive.writestr("good.dbf", b"x")
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(buffer.getvalue(), filename="evil.zip", crs="wgs84")
    assert _error(excinfo).code == "file_zip_unsafe"
    assert extracted == []


def test_zip_with_too_many_members_is_refused():
    data = _zip({f"f{i}.txt": b"x" for i in range(fileio.ZIP_MAX_MEMBERS + 1)})
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="many.zip", crs="wgs84")
    assert _error(excinfo).code == "file_zip_too_many_members"


@pytest.mark.parametrize(("members", "code"), [
    ({"readme.txt": b"x"}, "file_shapefile_missing"),
    ({"a.shp": b"x", "a.shx": b"x", "a.dbf": b"x", "b.shp": b"x"}, "file_shapefile_ambiguous"),
    ({"a.shp": b"x", "a.shx": b"x"}, "file_shapefile_incomplete"),
])
def test_zip_without_exactly_one_complete_shapefile_is_refused(members, code):
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(_zip(members), filename="z.zip", crs="wgs84")
    assert _error(excinfo).code == code


# --------------------------------------------------------------------------- limits and crs


def test_empty_feature_collection_is_file_empty():
    for data in (_feature_collection([]), b""):
        with pytest.raises(GridFileError) as excinfo:
            read_grid_file(data, filename="e.geojson", crs="wgs84")
        assert _error(excinfo).code == "file_empty"


def test_empty_shapefile_is_file_empty():
    payload, _, _ = write_grid_file([], fmt="shapefile")
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(payload, filename="e.zip", crs="wgs84")
    assert _error(excinfo).code == "file_empty"


def test_too_many_features():
    square = (
        '{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[%d,0],[%d,0],[%d,1],[%d,0]]]}}'
    )
    text = '{"type":"FeatureCollection","features":[' + ",".join(
        square % (i, i + 1, i + 1, i) for i in range(20_001)
    ) + "]}"
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(text.encode(), filename="many.geojson", crs="wgs84")
    assert _error(excinfo).code == "file_too_many_features"


@pytest.mark.parametrize("fmt", ["shapefile", "gpkg", "kml"])
def test_too_many_features_in_other_formats(fmt):
    payload, _, _ = write_grid_file(_grids(), fmt=fmt)
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(payload, filename="x", crs="wgs84", max_features=2)
    assert _error(excinfo).code == "file_too_many_features"
    assert len(read_grid_file(payload, filename="x", crs="wgs84", max_features=3)) == 3


def test_too_large():
    data = _feature_collection([_feature(SQUARE, name="大")])
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="big.geojson", crs="wgs84", max_bytes=len(data) - 1)
    assert _error(excinfo).code == "file_too_large"


def test_unknown_crs_is_refused_on_read_and_write():
    data = _feature_collection([_feature(SQUARE, name="x")])
    with pytest.raises(GridFileError) as excinfo:
        read_grid_file(data, filename="a.geojson", crs="epsg:3857")
    assert _error(excinfo).code == "crs_unknown"
    assert "GCJ-02" in _error(excinfo).message
    with pytest.raises(GridFileError) as excinfo:
        write_grid_file(_grids(), fmt="geojson", crs="mars")
    assert _error(excinfo).code == "crs_unknown"


def test_unknown_export_format():
    with pytest.raises(GridFileError) as excinfo:
        write_grid_file(_grids(), fmt="dwg")
    assert _error(excinfo).code == "file_format_unsupported"
