# covers: GR-7 (grid rating: dimensions measured in PostGIS, percentile/min-max scores, grades,
# explanation, scheme validation, idempotent background runs, branch limits, nightly run)
from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from gis_core.choices import PoiCategory, RoleCode
from gis_core.errors import PermissionDenied, ValidationFailed
from gis_core.models import AuditEntry, Poi
from grids.choices import GridKind, GridLevel, VirtualType
from grids.models import Grid, GridRating, RatingScheme
from grids.services import rating
from grids.tasks import rate_all_nightly, rate_grids
from grids.tests.factories import GridFactory, square
from grids.tests.rating_support import EXAMPLE_DIMENSIONS, EXAMPLE_THRESHOLDS, ORIGINS, SIZE, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank):
    return build_world(bank)


@pytest.fixture
def rater(bank, make_user):
    return make_user(bank["a"], RoleCode.BRANCH_MANAGER)


def make_scheme(actor, *, normalisation="percentile", dimensions=None, thresholds=None, name="测试方案"):
    return rating.rating_scheme_save(
        actor=actor, name=name, dimensions=dimensions or EXAMPLE_DIMENSIONS,
        thresholds=thresholds or EXAMPLE_THRESHOLDS, normalisation=normalisation,
    )


def ratings_by_name(world, scheme) -> dict[str, GridRating]:
    by_id = {r.grid_id: r for r in GridRating.objects.filter(scheme=scheme)}
    return {name: by_id[g.pk] for name, g in world.items() if g.pk in by_id}


# --- pure normalisation ----------------------------------------------------------------------
def test_percentile_averages_ties_and_gives_50_without_information():
    assert rating.normalise_percentile([5, 3, 3, 0]) == [100.0, 50.0, 50.0, 0.0]
    assert rating.normalise_percentile([7, 7, 7]) == [50.0, 50.0, 50.0]
    assert rating.normalise_percentile([4]) == [50.0]
    assert rating.normalise_minmax([5, 3, 3, 0]) == [100.0, 60.0, 60.0, 0.0]
    assert rating.normalise_minmax([2, 2]) == [50.0, 50.0]


# --- measurement in PostGIS ------------------------------------------------------------------
def test_each_dimension_is_measured_for_the_whole_set(world):
    ids = [world[n].pk for n in ("G1", "G2", "G3", "G4")]

    def measure(key, **extra):
        values = rating.measure_dimension(dimension={"key": key, **extra}, grid_ids=ids, level=GridLevel.COMMUNITY)
        return [values[i] for i in ids]

    assert measure("customers_formal") == [5, 3, 3, 0]
    assert measure("customers_potential") == [1, 3, 0, 2]
    assert measure("outlets") == [1, 0, 0, 1]  # the branch-kind institution in G2 is not an outlet
    assert measure("competitors") == [0, 2, 1, 3]  # the own-bank branch in G4 is not a competitor
    assert measure("competitors", own_bank_keywords=[]) == [0, 2, 1, 4]
    assert measure("residential_estates") == [0, 1, 0, 0]
    area_km2 = [Grid.objects.get(pk=i).area_m2 / 1e6 for i in ids]
    assert measure("area_km2") == pytest.approx(area_km2)
    assert 1.0 < area_km2[0] < 1.2  # a 0.01° square at 28°N
    assert measure("poi_shop") == pytest.approx([2 / area_km2[0], 0, 0, 0])


def test_virtual_grids_count_customers_by_geometry(world, bank):
    # Virtual grids have no membership column: customers are counted by geometry.
    lng, lat = ORIGINS["G1"]
    park = GridFactory(kind=GridKind.VIRTUAL, level="", virtual_type=VirtualType.BUSINESS_DISTRICT,
                       institution=bank["a"], geom=square(lng, lat, SIZE))
    values = rating.measure_dimension(dimension={"key": "customers_formal"}, grid_ids=[park.pk], level=VirtualType.BUSINESS_DISTRICT)
    assert values == {park.pk: 5}


# --- scores and grades -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "normalisation, expected",
    [
        # formal [5,3,3,0] → 100,50,50,0; potential [1,3,0,2] → 33.3,100,0,66.7;
        # outlets [1,0,0,1] → 83.3,16.7,16.7,83.3; competitors [0,2,1,3] → 0,66.7,33.3,100 (difficulty: 100 − n)
        ("percentile", {"G1": (83.33, "A"), "G2": (50.0, "B"), "G3": (36.67, "C"), "G4": (30.0, "D")}),
        # formal → 100,60,60,0; potential → 33.3,100,0,66.7; outlets → 100,0,0,100; competitors → 0,66.7,33.3,100
        ("minmax", {"G1": (86.67, "A"), "G2": (50.67, "B"), "G3": (37.33, "C"), "G4": (33.33, "D")}),
    ],
)
def test_known_world_gets_exact_scores_and_grades(world, rater, normalisation, expected):
    scheme = make_scheme(rater, normalisation=normalisation)
    result = rating.grids_rate(actor=rater, scheme=scheme, level=GridLevel.COMMUNITY)

    assert result.rated == 4 and result.grades == {"A": 1, "B": 1, "C": 1, "D": 1}
    got = {name: (r.score, r.grade) for name, r in ratings_by_name(world, scheme).items()}
    assert got == expected
    for name, (score, grade) in expected.items():
        world[name].refresh_from_db()
        assert (world[name].rating_score, world[name].rating_grade) == (score, grade)


def test_explanation_adds_up_to_the_score(world, rater):
    scheme = make_scheme(rater)
    rating.grids_rate(actor=rater, scheme=scheme, level=GridLevel.COMMUNITY)
    for r in GridRating.objects.filter(scheme=scheme):
        e = r.explanation
        assert [d["key"] for d in e["dimensions"]] == [d["key"] for d in EXAMPLE_DIMENSIONS]
        assert sum(d["contribution"] for d in e["dimensions"]) == pytest.approx(r.score, abs=0.01)
        assert e["thresholds"] == EXAMPLE_THRESHOLDS and e["grade"] == r.grade and e["set_size"] == 4
        assert all({"raw", "normalised", "weight", "label", "difficulty"} <= set(d) for d in e["dimensions"])
    g4 = ratings_by_name(world, scheme)["G4"].explanation["dimensions"]
    competitors = next(d for d in g4 if d["key"] == "competitors")
    assert competitors == {**competitors, "raw": 3.0, "normalised": 100.0, "difficulty": True, "contribution": 0.0}


def test_a_difficulty_dimension_lowers_the_score(world, rater):
    as_value = [{**d, "difficulty": False} for d in EXAMPLE_DIMENSIONS]
    value_scheme = make_scheme(rater, dimensions=as_value, name="竞争作为价值")
    difficulty_scheme = make_scheme(rater, name="竞争作为难度")
    rating.grids_rate(actor=rater, scheme=value_scheme, level=GridLevel.COMMUNITY)
    rating.grids_rate(actor=rater, scheme=difficulty_scheme, level=GridLevel.COMMUNITY)
    as_value_scores = {n: r.score for n, r in ratings_by_name(world, value_scheme).items()}
    as_difficulty_scores = {n: r.score for n, r in ratings_by_name(world, difficulty_scheme).items()}
    # G4 has the most competitors: as difficulty it loses 20 points (0 instead of 20·100/100).
    assert as_difficulty_scores["G4"] == pytest.approx(as_value_scores["G4"] - 20, abs=0.01)
    # A new competitor in G1 (previously the only grid without one) lowers G1's score.
    before = as_difficulty_scores["G1"]
    Poi.objects.create(source="test", source_id="new-rival", name="兴业银行", category=PoiCategory.BANK,
                       geom=Point(ORIGINS["G1"][0] + 0.005, ORIGINS["G1"][1] + 0.002, srid=4326))
    rating.grids_rate(actor=rater, scheme=difficulty_scheme, level=GridLevel.COMMUNITY)
    assert ratings_by_name(world, difficulty_scheme)["G1"].score < before


# --- scheme validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, field, code",
    [
        ({"dimensions": []}, "dimensions", "required"),
        ({"dimensions": [{"key": "customers_vip", "weight": 10}]}, "dimensions[0].key", "unknown_dimension"),
        ({"dimensions": [{"key": "outlets", "weight": 0}]}, "dimensions[0].weight", "invalid_weight"),
        ({"dimensions": [{"key": "outlets", "weight": 101}]}, "dimensions[0].weight", "invalid_weight"),
        ({"dimensions": [{"key": "outlets", "weight": True}]}, "dimensions[0].weight", "invalid_weight"),
        ({"dimensions": [{"key": "outlets", "weight": 5}, {"key": "outlets", "weight": 5}]}, "dimensions[1].key", "duplicate_dimension"),
        ({"dimensions": [{"key": "outlets", "weight": 5, "own_bank_keywords": ["农商"]}]}, "dimensions[0].own_bank_keywords", "not_allowed"),
        ({"thresholds": {"A": 60, "B": 60, "C": 40}}, "thresholds", "not_descending"),
        ({"thresholds": {"A": 120, "B": 60, "C": 40}}, "thresholds", "out_of_range"),
        ({"thresholds": {"A": 80, "B": 60}}, "thresholds", "invalid"),
        ({"normalisation": "zscore"}, "normalisation", "invalid"),
        ({"name": "  "}, "name", "required"),
    ],
)
def test_invalid_schemes_are_refused_with_details(rater, changes, field, code):
    values = {"name": "方案", "dimensions": EXAMPLE_DIMENSIONS, "thresholds": EXAMPLE_THRESHOLDS, "normalisation": "percentile", **changes}
    with pytest.raises(ValidationFailed) as exc:
        rating.rating_scheme_save(actor=rater, **values)
    assert exc.value.code == "rating_scheme_invalid"
    assert {"field": field, "code": code} in [{"field": p["field"], "code": p["code"]} for p in exc.value.details["problems"]]
    assert not RatingScheme.objects.exists()


def test_scheme_save_is_audited_and_activation_is_exclusive(rater):
    first = rating.rating_scheme_save(actor=rater, name="一", dimensions=EXAMPLE_DIMENSIONS, thresholds=EXAMPLE_THRESHOLDS,
                                      normalisation="minmax", is_active=True)
    second = rating.rating_scheme_save(actor=rater, name="二", dimensions=EXAMPLE_DIMENSIONS, thresholds=EXAMPLE_THRESHOLDS,
                                       normalisation="percentile", is_active=True)
    first.refresh_from_db()
    assert (first.is_active, second.is_active) == (False, True)
    assert rating.scheme_normalisation(first) == "minmax" and rating.scheme_thresholds(first) == EXAMPLE_THRESHOLDS
    assert rating.rating_scheme_default() == second
    competitors = next(d for d in second.dimensions if d["key"] == "competitors")
    assert competitors["own_bank_keywords"] == rating.DEFAULT_OWN_BANK_KEYWORDS
    assert AuditEntry.objects.filter(action="grids.rating_scheme.created", actor=rater).count() == 2


def test_default_scheme_is_created_once(db):
    first = rating.rating_scheme_default()
    assert rating.rating_scheme_default() == first
    assert RatingScheme.objects.count() == 1 and first.is_active


# --- runs: idempotent, limited to the branch, audited once --------------------------------------
def test_task_is_idempotent(world, rater, bank):
    scheme = make_scheme(rater)
    rate_grids(scheme.pk, GridLevel.COMMUNITY, bank["a"].pk, None, actor_id=rater.pk)
    first = {r.grid_id: (r.pk, r.score, r.grade, r.explanation["dimensions"]) for r in GridRating.objects.all()}
    versions = {g.pk: g.version for g in Grid.objects.all()}
    rate_grids(scheme.pk, GridLevel.COMMUNITY, bank["a"].pk, None, actor_id=rater.pk)
    second = {r.grid_id: (r.pk, r.score, r.grade, r.explanation["dimensions"]) for r in GridRating.objects.all()}
    assert first == second and len(second) == 4
    assert versions == {g.pk: g.version for g in Grid.objects.all()}  # a rating is not an edit
    runs = AuditEntry.objects.filter(action="grids.rating.run")
    assert runs.count() == 2 and runs.first().data["rated"] == 4


def test_run_limited_to_branch_a_leaves_branch_b_alone(world, rater, bank):
    scheme = make_scheme(rater)
    result = rating.grids_rate(actor=rater, scheme=scheme, level=GridLevel.COMMUNITY, institution=bank["a"])
    assert result.rated == 4
    assert not GridRating.objects.filter(grid=world["GB"]).exists()
    world["GB"].refresh_from_db()
    assert world["GB"].rating_grade == "" and world["GB"].rating_score is None


def test_a_rater_cannot_rate_another_branch(world, bank, make_user, rater):
    scheme = make_scheme(rater)
    other = make_user(bank["b"], RoleCode.BRANCH_MANAGER)
    with pytest.raises(PermissionDenied):
        rating.grids_rate(actor=other, scheme=scheme, level=GridLevel.COMMUNITY, institution=bank["a"])
    with pytest.raises(PermissionDenied):
        rating.grids_rate(actor=make_user(bank["a"], RoleCode.LEADER), scheme=scheme, level=GridLevel.COMMUNITY)
    # Without an institution a person rates their own subtree only.
    rating.grids_rate(actor=other, scheme=scheme, level=GridLevel.COMMUNITY)
    assert set(GridRating.objects.values_list("grid_id", flat=True)) == {world["GB"].pk}


def test_job_records_progress_and_failure(world, rater, bank, make_user, django_capture_on_commit_callbacks):
    scheme = make_scheme(rater)
    with django_capture_on_commit_callbacks(execute=True):
        job = rating.rating_run_start(actor=rater, scheme=scheme, level=GridLevel.COMMUNITY)
    done = rating.rating_job_read(job["id"])
    assert done["status"] == "succeeded" and done["progress"] == 100 and done["result"]["rated"] == 4
    assert done["institution_id"] == bank["a"].pk
    # The task re-enters the scope: a run whose actor may not rate branch A fails, recorded, without ratings.
    GridRating.objects.all().delete()
    other = make_user(bank["b"], RoleCode.BRANCH_MANAGER)
    job_id = "00000000-0000-0000-0000-000000000001"
    rating._job_write({**job, "id": job_id, "status": "pending"})
    out = rate_grids(scheme.pk, GridLevel.COMMUNITY, bank["a"].pk, job_id, actor_id=other.pk)
    assert out["error"]["code"] == "permission_denied"
    assert rating.rating_job_read(job_id)["status"] == "failed"
    assert not GridRating.objects.exists()
    assert AuditEntry.objects.filter(action="grids.rating.run", result="failure").count() == 1


def test_unknown_level_is_refused(rater):
    with pytest.raises(ValidationFailed):
        rating.rating_run_start(actor=rater, scheme=make_scheme(rater), level="planet")


def test_nightly_task_rates_every_level(world, bank):
    street = GridFactory(institution=bank["a"], level=GridLevel.STREET, geom=square(113.20, 28.00, 0.02))
    park = GridFactory(kind=GridKind.VIRTUAL, level="", virtual_type=VirtualType.INDUSTRIAL_PARK, institution=bank["b"],
                       geom=square(113.10, 28.00, 0.005))
    out = rate_all_nightly()
    assert set(out) == {GridLevel.COMMUNITY, GridLevel.STREET, VirtualType.INDUSTRIAL_PARK}
    assert out[GridLevel.COMMUNITY]["rated"] == 5  # bank-wide: branch B's community grid too
    scheme = RatingScheme.objects.get(is_active=True)  # the default scheme, created on first use
    rated = set(GridRating.objects.filter(scheme=scheme).values_list("grid_id", flat=True))
    assert rated == {g.pk for g in world.values()} | {street.pk, park.pk}
    assert not Grid.objects.filter(rating_grade="").exists()
    assert AuditEntry.objects.filter(action="grids.rating.run").count() == 3
