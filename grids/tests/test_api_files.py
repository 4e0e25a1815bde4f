# covers: GR-4, GC-1, SEC-6, ORG-6
"""Import and export of grid files through the API: the scope matrix, all-or-nothing imports (one
bad feature among 1,000 → nothing created, its index reported), file-level errors with their
`file_*` codes, audited exports, and an export → import round trip in every format."""
from __future__ import annotations

import io
import json

import pytest

from gis_core.models import AuditEntry
from gis_core.testing import assert_scope_matrix, client_for
from grids.models import Grid
from grids.tests.factories import grid_world

pytestmark = pytest.mark.django_db

FORMATS = ["geojson", "shapefile", "kml", "gpkg"]


@pytest.fixture
def world(bank, make_user):
    return grid_world(bank, make_user)


class Upload(io.BytesIO):
    """An upload the test client can encode again and again (it rewinds before every read)."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name

    def read(self, *args):
        self.seek(0)
        return super().read(*args)


def feature(index, x, y, size=0.0009, **props):
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Feature", "properties": {"code": f"IMP-{index:04d}", "name": f"导入网格{index}", **props},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def lattice(n, *, x0=112.955, y0=28.145):
    """n small squares (≈ 100 m) in a lattice inside district A, clear of its streets."""
    return [feature(i, x0 + (i % 40) * 0.001, y0 + (i // 40) * 0.001) for i in range(n)]


def geojson_upload(features, name="grids.geojson"):
    return Upload(json.dumps({"type": "FeatureCollection", "features": features}).encode(), name)


def import_form(world, upload, **extra):
    return {"file": upload, "kind": "physical", "level": "street", "parent": world["district_a"].pk, "crs": "wgs84", **extra}


def test_import_scope_matrix(world):
    form = import_form(world, geojson_upload(lattice(3)))
    assert_scope_matrix(url="/api/grids/import/", method="post", data=form, format="multipart", allowed=world["bm_a"],
                        no_permission=world["nobody"], out_of_scope=world["bm_b"], allowed_status=201)
    assert client_for(world["am"]).post("/api/grids/import/", import_form(world, geojson_upload(lattice(1))),
                                        format="multipart").status_code == 403
    created = Grid.objects.filter(code__startswith="IMP-")
    assert created.count() == 3
    assert {g.parent_id for g in created} == {world["district_a"].pk}
    assert AuditEntry.objects.filter(action="grids.grid.imported").count() == 3


def test_one_bad_feature_among_1000_creates_nothing_and_names_it(world):
    features = lattice(1000, x0=112.91, y0=28.15)  # 40 x 25 squares of ~100 m in district A's north-west
    x, y = features[637]["geometry"]["coordinates"][0][0]
    features[637]["geometry"]["coordinates"] = [[[x, y], [x + 0.0009, y + 0.0009], [x + 0.0009, y], [x, y + 0.0009], [x, y]]]
    count, audits = Grid.objects.count(), AuditEntry.objects.count()
    response = client_for(world["bm_a"]).post("/api/grids/import/", import_form(world, geojson_upload(features)),
                                              format="multipart")
    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert error["code"] == "import_invalid" and "未导入任何网格" in error["message"]
    assert error["details"]["features"] == 1000
    problems = error["details"]["problems"]
    assert [(p["feature"], p["code"]) for p in problems] == [(637, "geometry_invalid")]
    assert problems[0]["reason"] == "self_intersection" and problems[0]["location"]
    assert Grid.objects.count() == count and AuditEntry.objects.count() == audits


def test_import_reports_every_problem_with_its_index(world):
    features = lattice(6)
    features[1]["properties"]["code"] = "S-A1"  # taken
    features[2]["properties"]["name"] = ""  # no name
    features[3]["geometry"] = feature(0, 112.92, 28.12)["geometry"]  # overlaps street_a1
    features[5]["geometry"] = features[4]["geometry"]  # overlaps another feature of the file
    response = client_for(world["bm_a"]).post("/api/grids/import/", import_form(world, geojson_upload(features)), format="multipart")
    problems = response.json()["error"]["details"]["problems"]
    assert [(p["feature"], p["code"]) for p in problems] == [
        (1, "grid_code_taken"), (2, "feature_name_code_required"), (3, "geometry_overlaps_sibling"), (4, "geometry_overlaps_sibling"),
    ]
    assert not Grid.objects.filter(code__startswith="IMP-").exists()


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "empty.geojson", "file_empty"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "grids.geojson", "file_format_unsupported"),
        (b'{"type": "FeatureCollection", "features": [', "broken.geojson", "file_corrupt"),
        (b'{"type": "FeatureCollection", "features": []}', "none.geojson", "file_empty"),
        (b"PK\x03\x04garbage", "grids.zip", "file_corrupt"),
    ],
    ids=["empty", "png", "truncated", "no-features", "broken-zip"],
)
def test_file_level_errors(world, data, name, code):
    count = Grid.objects.count()
    response = client_for(world["bm_a"]).post("/api/grids/import/", import_form(world, Upload(data, name)), format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert Grid.objects.count() == count


def test_import_unknown_crs_and_bad_structure(world):
    client = client_for(world["bm_a"])
    bad_crs = client.post("/api/grids/import/", import_form(world, geojson_upload(lattice(1)), crs="mars"), format="multipart")
    assert bad_crs.status_code == 400 and bad_crs.json()["error"]["code"] == "crs_unknown"
    bad_level = client.post("/api/grids/import/", import_form(world, geojson_upload(lattice(1)), level="building"), format="multipart")
    assert bad_level.status_code == 400 and bad_level.json()["error"]["code"] == "grid_level_invalid"
    assert not Grid.objects.filter(code__startswith="IMP-").exists()


def test_export_scope_matrix_and_audit(world):
    url = "/api/grids/export/?fmt=geojson"
    # the list-style matrix; which grids come out is checked below from the file itself
    assert_scope_matrix(url=url, kind="list", object_id="D-A", id_field="code", allowed=world["bm_a"],
                        no_permission=world["am"], out_of_scope=world["bm_b"])
    assert client_for(world["nobody"]).get(url).status_code == 403

    def codes(user, **params):
        response = client_for(user).get("/api/grids/export/", {"fmt": "geojson", **params})
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="grids-')
        assert response["Content-Type"] == "application/geo+json"
        return {f["properties"]["code"] for f in json.loads(response.content)["features"]}

    assert codes(world["bm_a"]) == {"D-A", "S-A1", "S-A2"}
    assert codes(world["bm_b"]) == {"D-B"}
    assert codes(world["leader"], level="street") == {"S-A1", "S-A2"}
    assert codes(world["bm_a"], parent=world["district_a"].pk) == {"S-A1", "S-A2"}
    entry = AuditEntry.objects.filter(action="grids.grid.exported", actor=world["bm_a"]).order_by("-id").first()
    assert entry.data["format"] == "geojson" and entry.data["count"] == 2


def test_export_bad_parameters(world):
    client = client_for(world["bm_a"])
    assert client.get("/api/grids/export/", {"fmt": "dwg"}).json()["error"]["code"] == "validation_failed"
    assert client.get("/api/grids/export/", {"crs": "mars"}).json()["error"]["code"] == "crs_unknown"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
def test_export_import_round_trip(world, fmt, crs):
    client = client_for(world["bm_a"])
    district = world["district_a"]
    before = {g.code: (g.name, g.area_m2) for g in Grid.objects.filter(parent=district)}
    response = client.get("/api/grids/export/", {"fmt": fmt, "crs": crs, "parent": district.pk})
    assert response.status_code == 200, response.content[:300]
    payload = response.content
    Grid.objects.filter(parent=district).delete()
    imported = client.post(
        "/api/grids/import/", import_form(world, Upload(payload, f"export.{fmt}"), crs=crs), format="multipart"
    )
    assert imported.status_code == 201, imported.content[:500]
    after = {g.code: (g.name, g.area_m2) for g in Grid.objects.filter(parent=district)}
    assert after.keys() == before.keys()
    for code, (name, area) in before.items():
        assert after[code][0] == name
        assert after[code][1] == pytest.approx(area, rel=1e-4)  # the datum round trip is good to centimetres
