# covers: GR-10, ORG-2 (scope matrix per endpoint)
"""The generation API: 202 with the job URL, the job with its drafts as GeoJSON, apply, discard,
the per-grid job list, and the anonymous / no-permission / out-of-scope / allowed matrix of each."""
from __future__ import annotations

import pytest

from gis_core.choices import RoleCode
from gis_core.testing import assert_scope_matrix
from grids.choices import GenerationMethod, GridLevel, GridStatus, JobStatus
from grids.models import Grid, GridGenerationJob
from grids.services.generation import generation_start
from grids.tests.factories import GridFactory, square


@pytest.fixture
def people(bank, make_user):
    return {
        "manager": make_user(bank["a"], RoleCode.BRANCH_MANAGER),
        "leader": make_user(bank["a"], RoleCode.LEADER),  # reads every grid, edits none
        "other": make_user(bank["b"], RoleCode.BRANCH_MANAGER),
    }


@pytest.fixture
def parent(bank):
    return GridFactory(code="P", name="测试区", institution=bank["a"], level=GridLevel.DISTRICT, geom=square(112.95, 28.15, 0.02))


@pytest.fixture
def ready_job(parent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_start(actor=None, parent=parent, method=GenerationMethod.H3, params={"resolution": 9})
    job.refresh_from_db()
    assert job.status == JobStatus.READY
    return job


def _matrix(people, **kwargs):
    assert_scope_matrix(allowed=people["manager"], no_permission=people["leader"], out_of_scope=people["other"], **kwargs)


@pytest.mark.django_db
def test_start_answers_202_with_the_job_url(people, parent, login, django_capture_on_commit_callbacks):
    _matrix(people, url=f"/api/grids/{parent.pk}/generate/", method="post",
            data={"method": "h3", "params": {"resolution": 8}}, allowed_status=202)

    client = login(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/grids/{parent.pk}/generate/", {"method": "h3", "params": {"resolution": 9}}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["url"] == f"/api/grids/jobs/{body['id']}/"
    assert body["status"] == JobStatus.PENDING and body["parent"]["code"] == "P"

    job = client.get(body["url"]).json()  # the task ran on commit (eager in tests)
    assert job["status"] == JobStatus.READY and job["progress"] == 100
    assert job["drafts"]["type"] == "FeatureCollection"
    feature = job["drafts"]["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon" and feature["properties"]["code"].startswith("P-")
    assert job["report"]["count"] == len(job["drafts"]["features"])


@pytest.mark.django_db
def test_start_refuses_bad_parameters_with_a_code(people, parent, login):
    client = login(people["manager"])
    response = client.post(f"/api/grids/{parent.pk}/generate/", {"method": "h3", "params": {"resolution": 20}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "generation_resolution_invalid"
    response = client.post(f"/api/grids/{parent.pk}/generate/", {"method": "nonsense"}, format="json")
    assert response.status_code == 400
    assert not GridGenerationJob.objects.exists()


@pytest.mark.django_db
def test_job_detail(people, ready_job):
    def check(response):
        assert response.json()["id"] == ready_job.pk and response.json()["drafts"]["features"]

    _matrix(people, url=f"/api/grids/jobs/{ready_job.pk}/", check_allowed=check)


@pytest.mark.django_db
def test_job_list_of_a_grid(people, parent, ready_job):
    def check(response):
        assert [j["id"] for j in response.json()["results"]] == [ready_job.pk]
        assert "drafts" not in response.json()["results"][0]

    # Out of scope is 404 (the grid itself is not visible), so the matrix runs in "detail" mode.
    _matrix(people, url=f"/api/grids/{parent.pk}/jobs/", check_allowed=check)


@pytest.mark.django_db
def test_apply(people, parent, ready_job, login):
    def check(response):
        body = response.json()
        assert body["status"] == JobStatus.APPLIED and len(body["grids"]) == ready_job.drafts.count()

    _matrix(people, url=f"/api/grids/jobs/{ready_job.pk}/apply/", method="post", data={}, check_allowed=check)
    assert Grid.objects.filter(parent=parent, status=GridStatus.ACTIVE).count() == ready_job.drafts.count()

    again = login(people["manager"]).post(f"/api/grids/jobs/{ready_job.pk}/apply/", {}, format="json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "generation_not_ready"


@pytest.mark.django_db
def test_apply_with_children_needs_replace_existing(people, parent, ready_job, login, django_capture_on_commit_callbacks):
    client = login(people["manager"])
    assert client.post(f"/api/grids/jobs/{ready_job.pk}/apply/", {}, format="json").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(f"/api/grids/{parent.pk}/generate/", {"method": "h3", "params": {"resolution": 8}}, format="json").json()

    refused = client.post(f"/api/grids/jobs/{second['id']}/apply/", {}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "generation_parent_has_children"
    replaced = client.post(f"/api/grids/jobs/{second['id']}/apply/", {"replace_existing": True}, format="json")
    assert replaced.status_code == 200
    assert Grid.objects.filter(parent=parent, status=GridStatus.ACTIVE).count() == len(replaced.json()["grids"])


@pytest.mark.django_db
def test_discard(people, ready_job):
    def check(response):
        assert response.json()["status"] == JobStatus.DISCARDED

    _matrix(people, url=f"/api/grids/jobs/{ready_job.pk}/discard/", method="post", data={}, check_allowed=check)
    assert not ready_job.drafts.exists()
