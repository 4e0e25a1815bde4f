# covers: GR-10, GR-2, GR-4
"""Generation of child grids (grids.services.generation) on real parent grids in PostGIS.

The parent is a 0.02° square (about 2.0 × 2.2 km) in Changsha; the Celery task runs eagerly in the
test settings, started by the on-commit hook exactly as in production.
"""
from __future__ import annotations

import random

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from crm.models import Customer
from gis_core.choices import DivisionKind, DivisionLevel, InstitutionKind
from gis_core.errors import ValidationFailed
from gis_core.models import AuditEntry
from gis_core.tests.factories import InstitutionFactory
from gis_core.tests.place_factories import AdminDivisionFactory, box
from grids import geometry as geo
from grids.choices import GenerationMethod, GridLevel, GridStatus, HistoryAction, JobStatus
from grids.models import Grid, GridDraft, GridGenerationJob, GridHistory
from grids.services.common import to_shapely
from grids.services.generation import generation_apply, generation_discard, generation_start
from grids.tasks import generate_children
from grids.tests.factories import GridFactory, square

X0, Y0, SIZE = 112.95, 28.15, 0.02


@pytest.fixture
def parent(bank):
    return GridFactory(code="P", name="测试区", institution=bank["a"], level=GridLevel.DISTRICT, geom=square(X0, Y0, SIZE))


@pytest.fixture
def run_job(django_capture_on_commit_callbacks):
    """Start a job and let the on-commit hook run the (eager) Celery task, as a real request would."""

    def _run(**kwargs) -> GridGenerationJob:
        with django_capture_on_commit_callbacks(execute=True):
            job = generation_start(actor=None, **kwargs)
        job.refresh_from_db()
        return job

    return _run


def _assert_partition(job: GridGenerationJob, parent: Grid) -> None:
    """The drafts cover the parent without overlap, checked independently of the job's own report."""
    drafts = list(job.drafts.all())
    report = geo.coverage_report(to_shapely(parent.geom), [(d.pk, to_shapely(d.geom)) for d in drafts])
    assert report.covered_ratio > 0.9999
    assert report.gap_area_m2 < 1.0
    assert report.overlaps == []
    assert job.report["count"] == len(drafts)
    assert job.report["coverage_ratio"] > 0.9999 and job.report["overlap_area_m2"] == 0


def _customers(institution, n: int, *, seed: int = 7, bounds=(X0, Y0, X0 + SIZE, Y0 + SIZE)) -> None:
    rng = random.Random(seed)
    Customer.objects.bulk_create([
        Customer(kind="individual", status="formal", name=f"客户{i}", institution=institution,
                 location=Point(rng.uniform(bounds[0], bounds[2]), rng.uniform(bounds[1], bounds[3]), srid=4326))
        for i in range(n)
    ])


# --- methods -------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_h3_children_cover_the_parent_without_overlap(parent, run_job):
    job = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})

    assert job.status == JobStatus.READY and job.progress == 100, job.error
    assert 20 <= job.report["count"] <= 80  # ~4.4 km² of ~0.1 km² hexagons
    assert job.report["resolution"] == 9
    _assert_partition(job, parent)
    first = job.drafts.order_by("id").first()
    assert first.code == "P-1" and first.name == "测试区 网格1" and first.stats["h3"]
    assert job.finished_at is not None
    assert AuditEntry.objects.filter(action="grids.generation.started", object_id=str(job.pk)).exists()


@pytest.mark.django_db
def test_admin_divisions_are_clipped_to_the_parent(bank, run_job):
    district = AdminDivisionFactory(code="439901", name="测试区", level=DivisionLevel.DISTRICT, geom=box(X0, Y0, X0 + SIZE, Y0 + SIZE))
    mid = X0 + SIZE / 2
    for index, (x0, x1) in enumerate([(X0, mid), (mid, X0 + SIZE + 0.01)], start=1):  # the 2nd street sticks out
        AdminDivisionFactory(
            code=f"43990100{index}", name=f"第{index}街道办事处", short_name=f"第{index}街道", level=DivisionLevel.STREET,
            kind=DivisionKind.SUBDISTRICT, parent=district, geom=box(x0, Y0, x1, Y0 + SIZE),
        )
    parent = GridFactory(code="P", name="测试区", institution=bank["a"], geom=square(X0, Y0, SIZE), division=district)

    job = run_job(parent=parent, method=GenerationMethod.ADMIN_DIVISIONS, params={})

    assert job.status == JobStatus.READY, job.error
    drafts = list(job.drafts.order_by("code"))
    assert [(d.code, d.name, d.division.code) for d in drafts] == [
        ("439901001", "第1街道", "439901001"), ("439901002", "第2街道", "439901002"),
    ]
    assert drafts[1].stats["division_share"] == pytest.approx(0.5, abs=0.01)  # clipped to the parent
    _assert_partition(job, parent)


@pytest.mark.django_db
def test_admin_divisions_need_the_parents_division(parent):
    with pytest.raises(ValidationFailed) as error:
        generation_start(actor=None, parent=parent, method=GenerationMethod.ADMIN_DIVISIONS, params={})
    assert error.value.code == "generation_no_division"
    assert not GridGenerationJob.objects.exists()


@pytest.mark.django_db
def test_voronoi_around_the_outlets_inside_the_parent(bank, parent, run_job):
    spots = [(X0 + 0.004, Y0 + 0.004), (X0 + 0.015, Y0 + 0.005), (X0 + 0.010, Y0 + 0.016)]
    outlets = [
        InstitutionFactory(code=f"OUT{i}", kind=InstitutionKind.OUTLET, parent=bank["a1"], location=Point(*xy, srid=4326))
        for i, xy in enumerate(spots)
    ]
    InstitutionFactory(code="FAR", kind=InstitutionKind.OUTLET, parent=bank["a1"], location=Point(113.2, 28.4, srid=4326))

    job = run_job(parent=parent, method=GenerationMethod.VORONOI, params={})

    assert job.status == JobStatus.READY, job.error
    assert job.report["seed_source"] == "institutions" and job.report["seeds_used"] == 3
    _assert_partition(job, parent)
    for draft in job.drafts.all():
        seed = draft.stats["seed"]
        assert draft.geom.covers(Point(seed["lng"], seed["lat"], srid=4326))
    assert {d.stats["seed"]["institution"] for d in job.drafts.all()} == {o.pk for o in outlets}


@pytest.mark.django_db
def test_voronoi_from_explicit_gcj02_seeds(parent, run_job):
    from gis_core.crs import CRS, convert_point

    wgs = [(X0 + 0.005, Y0 + 0.01), (X0 + 0.015, Y0 + 0.01)]
    seeds = [dict(zip(("lng", "lat"), convert_point(*xy, src=CRS.WGS84, dst=CRS.GCJ02)), crs="gcj02") for xy in wgs]

    job = run_job(parent=parent, method=GenerationMethod.VORONOI, params={"seeds": seeds})

    assert job.status == JobStatus.READY, job.error
    assert job.params["seeds"][0]["lng"] == pytest.approx(wgs[0][0], abs=1e-6)  # stored as WGS-84
    _assert_partition(job, parent)
    areas = sorted(d.area_m2 for d in job.drafts.all())
    assert areas[0] == pytest.approx(areas[1], rel=0.01)  # seeds symmetric about the middle


@pytest.mark.django_db
def test_households_balance_within_the_reported_tolerance(bank, parent, run_job):
    _customers(bank["a1"], 1000)
    _customers(bank["a1"], 20, seed=9, bounds=(113.3, 28.4, 113.31, 28.41))  # outside the parent: ignored

    job = run_job(parent=parent, method=GenerationMethod.HOUSEHOLDS, params={"target": 100, "tolerance": 0.1})

    assert job.status == JobStatus.READY, job.error
    balance = job.report["balance"]
    assert balance["target"] == 100 and balance["tolerance"] == 0.1 and balance["points"] == 1000
    assert job.report["count"] == 10
    counts = [d.stats["households"] for d in job.drafts.all()]
    assert sum(counts) == 1000
    assert (balance["min"], balance["max"]) == (min(counts), max(counts))
    assert balance["within_tolerance_share"] == 1.0
    assert all(abs(c - 100) <= 0.1 * 100 for c in counts)
    assert balance["cv"] < 0.1
    _assert_partition(job, parent)


@pytest.mark.django_db
def test_households_need_points_and_a_sane_target(parent):
    with pytest.raises(ValidationFailed) as error:
        generation_start(actor=None, parent=parent, method=GenerationMethod.HOUSEHOLDS, params={"target": 500})
    assert error.value.code == "generation_no_points"
    for bad in ({"target": 0}, {"target": 100001}, {"target": "many"}, {}):
        with pytest.raises(ValidationFailed) as error:
            generation_start(actor=None, parent=parent, method=GenerationMethod.HOUSEHOLDS, params=bad)
        assert error.value.code == "generation_target_invalid"
    assert not GridGenerationJob.objects.exists()


# --- bad input and failures ------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        (GenerationMethod.H3, {"resolution": 20}, "generation_resolution_invalid"),
        (GenerationMethod.H3, {"resolution": 4}, "generation_resolution_invalid"),
        (GenerationMethod.H3, {}, "generation_resolution_invalid"),
        (GenerationMethod.H3, {"resolution": 9, "colour": "red"}, "generation_params_invalid"),
        (GenerationMethod.VORONOI, {}, "generation_no_seeds"),
        (GenerationMethod.VORONOI, {"seeds": [{"lng": "x", "lat": 1}]}, "generation_params_invalid"),
        ("spiral", {}, "generation_method_invalid"),
    ],
)
def test_bad_parameters_are_refused_before_a_job_exists(parent, method, params, code):
    with pytest.raises(ValidationFailed) as error:
        generation_start(actor=None, parent=parent, method=method, params=params)
    assert error.value.code == code
    assert not GridGenerationJob.objects.exists()


@pytest.mark.django_db
def test_too_fine_a_resolution_for_the_parent_is_refused(bank):
    big = GridFactory(code="BIG", institution=bank["a"], geom=square(112.5, 27.9, 0.6))
    with pytest.raises(ValidationFailed) as error:
        generation_start(actor=None, parent=big, method=GenerationMethod.H3, params={"resolution": 11})
    assert error.value.code == "generation_too_many_cells"


@pytest.mark.django_db
def test_only_physical_parents_with_a_child_level(bank, parent):
    virtual = GridFactory(code="V", kind="virtual", level="", virtual_type="business_district", institution=bank["a"])
    building = GridFactory(
        code="B", level=GridLevel.BUILDING, institution=bank["a"], parent=GridFactory(
            code="C", level=GridLevel.COMMUNITY, institution=bank["a"], parent=GridFactory(
                code="S", level=GridLevel.STREET, institution=bank["a"], parent=parent, geom=square(X0, Y0, 0.01)),
            geom=square(X0, Y0, 0.005)),
        geom=square(X0, Y0, 0.002),
    )
    for grid, code in ((virtual, "generation_parent_not_physical"), (building, "generation_no_child_level")):
        with pytest.raises(ValidationFailed) as error:
            generation_start(actor=None, parent=grid, method=GenerationMethod.H3, params={"resolution": 9})
        assert error.value.code == code


@pytest.mark.django_db
def test_a_degenerate_parent_fails_the_job_with_a_code(bank, run_job):
    bow_tie = MultiPolygon(Polygon(((X0, Y0), (X0 + SIZE, Y0 + SIZE), (X0 + SIZE, Y0), (X0, Y0 + SIZE), (X0, Y0))), srid=4326)
    # Written past the services on purpose: legacy data the rules never saw.
    broken = Grid.objects.create(kind="physical", level="district", code="BROKEN", name="坏边界", institution=bank["a"],
                                 geom=bow_tie, area_m2=2_000_000)

    job = run_job(parent=broken, method=GenerationMethod.H3, params={"resolution": 9})

    assert job.status == JobStatus.FAILED
    assert job.error["code"] == "geometry_invalid"
    assert "自相交" in job.error["message"] and "Traceback" not in str(job.error)
    assert job.error["details"]["location"]
    assert not job.drafts.exists()


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_job_without_a_stack_trace(parent, run_job, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(geo, "generate_h3", boom)
    job = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})
    assert job.status == JobStatus.FAILED
    assert job.error["code"] == "generation_failed"
    assert "secret" not in str(job.error)


# --- the task ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_task_is_idempotent(parent, run_job):
    job = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})
    ids = set(job.drafts.values_list("id", flat=True))

    assert generate_children(job.pk) == JobStatus.READY  # a finished job is left alone
    assert set(job.drafts.values_list("id", flat=True)) == ids

    GridGenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)  # a redelivered task
    assert generate_children(job.pk) == JobStatus.READY
    assert job.drafts.count() == len(ids) and not job.drafts.filter(id__in=ids).exists()  # replaced, not doubled

    generation_discard(actor=None, job=job)
    assert generate_children(job.pk) == JobStatus.DISCARDED
    assert generate_children(999_999) == "missing"


@pytest.mark.django_db
def test_pending_job_is_visible_before_the_task_runs(parent):
    job = generation_start(actor=None, parent=parent, method=GenerationMethod.H3, params={"resolution": 8})
    assert (job.status, job.progress) == (JobStatus.PENDING, 0)  # the task only runs after commit


# --- apply and discard -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_apply_creates_grids_that_pass_the_rules(bank, parent, run_job, make_user):
    manager = make_user(bank["a"], "branch_manager")
    job = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})

    grids = generation_apply(actor=manager, job=job)

    job.refresh_from_db()
    assert job.status == JobStatus.APPLIED
    assert len(grids) == job.drafts.count()
    children = Grid.objects.filter(parent=parent, status=GridStatus.ACTIVE)
    assert children.count() == len(grids)
    assert set(children.values_list("level", flat=True)) == {GridLevel.STREET}
    assert set(children.values_list("institution", flat=True)) == {bank["a"].pk}
    assert GridHistory.objects.filter(grid__in=children, action=HistoryAction.GENERATED).count() == len(grids)
    shape = to_shapely(parent.geom)
    report = geo.coverage_report(shape, [(g.pk, to_shapely(g.geom)) for g in children])
    assert report.covered_ratio > 0.9999 and not report.overlaps
    for grid in children:
        geo.check_inside_parent(to_shapely(grid.geom), shape)
    with pytest.raises(ValidationFailed) as error:  # applied once only
        generation_apply(actor=manager, job=job)
    assert error.value.code == "generation_not_ready"


@pytest.mark.django_db
def test_replace_flow(bank, parent, run_job):
    first = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 8})
    old = generation_apply(actor=None, job=first)
    second = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})

    with pytest.raises(ValidationFailed) as error:
        generation_apply(actor=None, job=second)
    assert error.value.code == "generation_parent_has_children"

    new = generation_apply(actor=None, job=second, replace_existing=True)

    assert set(Grid.objects.filter(pk__in=[g.pk for g in old]).values_list("status", flat=True)) == {GridStatus.RETIRED}
    active = Grid.objects.filter(parent=parent, status=GridStatus.ACTIVE)
    assert set(active.values_list("pk", flat=True)) == {g.pk for g in new}
    assert len({g.code for g in old} | {g.code for g in new}) == len(old) + len(new)  # codes stay unique


@pytest.mark.django_db
def test_replace_is_all_or_nothing_when_a_child_has_children(bank, parent, run_job):
    first = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 8})
    old = generation_apply(actor=None, job=first)
    holder = max(old, key=lambda g: g.area_m2)
    inner = to_shapely(holder.geom).representative_point()
    GridFactory(code="GC", level=GridLevel.COMMUNITY, institution=bank["a"], parent=holder, geom=square(inner.x - 0.0005, inner.y - 0.0005, 0.001))
    second = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})

    with pytest.raises(ValidationFailed) as error:
        generation_apply(actor=None, job=second, replace_existing=True)

    assert error.value.code == "generation_children_have_children"
    assert Grid.objects.filter(parent=parent, status=GridStatus.ACTIVE).count() == len(old)  # nothing retired
    second.refresh_from_db()
    assert second.status == JobStatus.READY


@pytest.mark.django_db
def test_apply_reports_the_draft_that_breaks_a_rule(bank, parent, run_job):
    job = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})
    draft = job.drafts.order_by("id").first()
    GridDraft.objects.filter(pk=draft.pk).update(geom=square(X0 + 0.03, Y0, 0.005))  # moved out of the parent

    with pytest.raises(ValidationFailed) as error:
        generation_apply(actor=None, job=job)

    assert error.value.code == "geometry_outside_parent"
    assert error.value.details["draft"]["code"] == draft.code
    assert not Grid.objects.filter(parent=parent).exists()  # all or nothing


@pytest.mark.django_db
def test_discard(parent, run_job):
    job = run_job(parent=parent, method=GenerationMethod.H3, params={"resolution": 9})
    generation_discard(actor=None, job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.DISCARDED and not job.drafts.exists()
    with pytest.raises(ValidationFailed) as error:
        generation_apply(actor=None, job=job)
    assert error.value.code == "generation_not_ready"
