# covers: GR-7 (rating API: schemes, runs answered 202 with a job, job progress, a grid's rating
# with its explanation), GR-8/scope (the scope matrix of every rating endpoint)
from __future__ import annotations

import pytest

from gis_core.choices import RoleCode
from gis_core.testing import assert_scope_matrix
from grids.choices import GridLevel
from grids.models import GridRating, RatingScheme
from grids.services import rating
from grids.tests.factories import assign_responsible
from grids.tests.rating_support import EXAMPLE_DIMENSIONS, EXAMPLE_THRESHOLDS, build_world

pytestmark = pytest.mark.django_db

SCHEMES = "/api/grids/rating/schemes/"
RUN = "/api/grids/rating/run/"


@pytest.fixture
def people(bank, make_user):
    return {
        "manager_a": make_user(bank["a"], RoleCode.BRANCH_MANAGER),
        "manager_b": make_user(bank["b"], RoleCode.BRANCH_MANAGER),
        "leader_a": make_user(bank["a"], RoleCode.LEADER),
        "leader_b": make_user(bank["b"], RoleCode.LEADER),
        "account_a": make_user(bank["a"], RoleCode.ACCOUNT_MANAGER),
        "auditor": make_user(bank["head"], RoleCode.AUDITOR),
    }


@pytest.fixture
def scheme(people):
    return rating.rating_scheme_save(
        actor=people["manager_a"], name="示例方案", dimensions=EXAMPLE_DIMENSIONS, thresholds=EXAMPLE_THRESHOLDS,
        normalisation="percentile", is_active=True,
    )


def scheme_body(**changes):
    return {"name": "新方案", "dimensions": EXAMPLE_DIMENSIONS, "thresholds": EXAMPLE_THRESHOLDS, "normalisation": "minmax", **changes}


# --- scope matrices -----------------------------------------------------------------------------------
# Rating schemes are bank-wide configuration (RatingScheme has no institution), so the scheme
# endpoints have no "out of scope" case: out_of_scope=None there.
def test_scheme_list_matrix(people, scheme):
    assert_scope_matrix(url=SCHEMES, kind="list", object_id=scheme.pk, allowed=people["leader_a"],
                        no_permission=people["account_a"], out_of_scope=None)


def test_scheme_create_matrix(people):
    assert_scope_matrix(url=SCHEMES, method="post", data=scheme_body(), allowed=people["manager_a"], allowed_status=201,
                        no_permission=people["leader_a"], out_of_scope=None)
    created = RatingScheme.objects.get()
    assert (created.name, created.is_active, rating.scheme_normalisation(created)) == ("新方案", False, "minmax")


def test_scheme_detail_and_update_matrix(people, scheme):
    url = f"{SCHEMES}{scheme.pk}/"
    assert_scope_matrix(url=url, allowed=people["leader_a"], no_permission=people["account_a"], out_of_scope=None)
    assert_scope_matrix(url=url, method="put", data=scheme_body(name="改名"), allowed=people["manager_a"],
                        no_permission=people["leader_a"], out_of_scope=None)
    scheme.refresh_from_db()
    assert scheme.name == "改名" and scheme.is_active  # is_active omitted: kept


def test_run_matrix(people, bank):
    # Out of scope: branch B's manager asking to rate branch A → 404 (the institution is not theirs to see).
    assert_scope_matrix(url=RUN, method="post", data={"level": "community", "institution": bank["a"].pk},
                        allowed=people["manager_a"], allowed_status=202, no_permission=people["leader_a"],
                        out_of_scope=people["manager_b"])


def test_job_matrix(people, scheme):
    job = rating.rating_run_start(actor=people["manager_a"], scheme=scheme, level=GridLevel.COMMUNITY)
    assert_scope_matrix(url=f"/api/grids/rating/jobs/{job['id']}/", allowed=people["manager_a"],
                        no_permission=people["leader_a"], out_of_scope=people["manager_b"])


def test_grid_rating_matrix(people, bank, scheme):
    world = build_world(bank)
    rating.grids_rate(actor=people["manager_a"], scheme=scheme, level=GridLevel.COMMUNITY)
    url = f"/api/grids/grids/{world['G1'].pk}/rating/"
    assert_scope_matrix(url=url, allowed=people["leader_a"], no_permission=people["auditor"], out_of_scope=people["leader_b"])
    # An account manager reads only the grids they hold.
    assert_scope_matrix(url=url, allowed=assign_responsible(world["G1"], people["account_a"]).person,
                        no_permission=None, out_of_scope=people["manager_b"])
    # (no_permission=None: covered by the first matrix of this endpoint.)


# --- behaviour ------------------------------------------------------------------------------------------
def test_run_answers_202_and_the_job_reports_the_result(people, bank, scheme, login, django_capture_on_commit_callbacks):
    world = build_world(bank)
    client = login(people["manager_a"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUN, {"level": "community", "scheme": scheme.pk}, format="json")
    assert response.status_code == 202
    assert response["Location"] == response.json()["url"] == f"/api/grids/rating/jobs/{response.json()['id']}/"
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded" and job["progress"] == 100
    assert job["result"]["rated"] == 4 and job["result"]["grades"] == {"A": 1, "B": 1, "C": 1, "D": 1}

    body = login(people["leader_a"]).get(f"/api/grids/grids/{world['G1'].pk}/rating/").json()
    assert body["rating"]["grade"] == "A" and body["rating"]["score"] == 83.33
    assert body["rating"]["scheme"] == {"id": scheme.pk, "name": "示例方案"}
    explanation = body["rating"]["explanation"]
    assert sum(d["contribution"] for d in explanation["dimensions"]) == pytest.approx(83.33, abs=0.01)
    assert explanation["thresholds"] == EXAMPLE_THRESHOLDS
    assert GridRating.objects.count() == 4


def test_unrated_grid_answers_with_no_rating(people, bank, login):
    world = build_world(bank)
    body = login(people["leader_a"]).get(f"/api/grids/grids/{world['G2'].pk}/rating/").json()
    assert body["rating"] is None and body["id"] == world["G2"].pk


def test_invalid_scheme_gets_400_with_every_problem(people, login):
    response = login(people["manager_a"]).post(
        SCHEMES, scheme_body(dimensions=[{"key": "nope", "weight": 1}, {"key": "outlets", "weight": 0}],
                             thresholds={"A": 30, "B": 50, "C": 10}), format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "rating_scheme_invalid"
    assert [p["field"] for p in error["details"]["problems"]] == ["dimensions[0].key", "dimensions[1].weight", "thresholds"]
    assert not RatingScheme.objects.exists()


def test_scheme_output_shows_options(people, scheme, login):
    body = login(people["leader_a"]).get(f"{SCHEMES}{scheme.pk}/").json()
    assert body["normalisation"] == "percentile" and body["thresholds"] == EXAMPLE_THRESHOLDS and body["is_active"]
    competitors = next(d for d in body["dimensions"] if d["key"] == "competitors")
    assert competitors["difficulty"] and competitors["own_bank_keywords"] == rating.DEFAULT_OWN_BANK_KEYWORDS
    assert competitors["label"] == "他行网点数"
