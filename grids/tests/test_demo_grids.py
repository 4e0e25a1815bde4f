# covers: GR-1 (physical hierarchy from the admin tree), GR-2 (rules on the demo grids), GR-5, issue 3 §1
"""Demo grids on day one, from the REAL Changsha fixture: `load_changsha`, the demo organisation and
customers, then `demo_grids_build` — city → 6 districts → 93 streets → 820 communities, owned by the
demo bank, account managers responsible for communities, customers placed."""
from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from crm.models import Customer
from crm.services import customer_demo_generate
from gis_core.choices import InstitutionKind
from gis_core.errors import ValidationFailed
from gis_core.models import User
from gis_core.services.demo import demo_organisation_build
from grids.choices import GridLevel, GridPost, HistoryAction
from grids.models import Grid, GridAssignment, GridHistory
from grids.services import demo
from grids.services.demo import DemoGridsInvalid, demo_grids_build
from grids.tests.factories import square


@pytest.mark.django_db
def test_demo_grids_need_the_base_data():
    with pytest.raises(ValidationFailed) as error:
        demo_grids_build()
    assert error.value.code == "base_data_missing"


@pytest.mark.django_db
def test_demo_grids_from_the_real_changsha_tree():
    call_command("load_changsha", stdout=io.StringIO())
    demo_organisation_build()
    customer_demo_generate(count=300)

    started = time.monotonic()
    result = demo_grids_build()
    elapsed = time.monotonic() - started

    assert elapsed < 30, f"demo grids took {elapsed:.1f}s"
    assert {k: result[k] for k in ("city", "district", "street", "community")} == {
        "city": 1, "district": 6, "street": 93, "community": 820,
    }
    assert result["created"] == 920
    counts = {level: Grid.objects.filter(level=level).count() for level in GridLevel.values}
    assert counts == {"city": 1, "district": 6, "street": 93, "community": 820, "building": 0}

    # the hierarchy follows the admin tree, codes are division codes, owners follow the bank
    city = Grid.objects.get(level=GridLevel.CITY)
    assert (city.code, city.name, city.division.code, city.institution.code) == ("430100", "长沙", "430100", "CSRCB")
    for district in Grid.objects.filter(level=GridLevel.DISTRICT).select_related("institution", "division"):
        assert district.parent_id == city.pk and district.code == district.division.code
        assert district.institution.code == f"CS{district.code}"
    assert not Grid.objects.exclude(level=GridLevel.CITY).filter(division__isnull=True).exists()
    assert not Grid.objects.filter(level__in=["street", "community"]).exclude(code=F("division__code")).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM grids_grid c JOIN grids_grid p ON p.id = c.parent_id
               WHERE c.level = 'community' AND (p.level <> 'street'
                  OR ST_Area(ST_Difference(c.geom, ST_Buffer(p.geom::geography, 1)::geometry)::geography) > 0.5)"""
        )
        assert cursor.fetchone()[0] == 0  # every community inside its street grid (1 m tolerance)
        cursor.execute("SELECT count(*) FROM grids_grid WHERE NOT ST_IsValid(geom)")
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            """SELECT abs(ST_Area(c.geom::geography) - ST_Area(ST_Union(d.geom)::geography))
               FROM grids_grid c, grids_grid d WHERE c.level = 'city' AND d.level = 'district' GROUP BY c.geom"""
        )
        assert cursor.fetchone()[0] < 1.0  # the city is the union of the six districts
    for street in Grid.objects.filter(level=GridLevel.STREET).select_related("institution", "parent__institution"):
        owner = street.institution
        assert owner.pk == street.parent.institution_id or (
            owner.kind == InstitutionKind.SUB_BRANCH and owner.parent_id == street.parent.institution_id
            and street.geom.covers(owner.location)
        )
        for path in street.children.values_list("institution__path", flat=True):
            assert path.startswith(owner.path)  # the street's owner or a sub-branch under it
    assert GridHistory.objects.filter(action=HistoryAction.CREATED).count() == 920

    # account managers hold the communities near their sub-branch
    for username in demo.DEMO_ACCOUNT_MANAGERS:
        person = User.objects.get(username=username)
        held = GridAssignment.objects.filter(person=person, post=GridPost.RESPONSIBLE, ends_on__isnull=True)
        assert held.count() == demo.COMMUNITIES_PER_MANAGER
        assert all(a.grid.level == GridLevel.COMMUNITY for a in held)
        assert all(person.institution.path.startswith(a.grid.institution.path) for a in held)
        own = Grid.objects.for_actor(person)
        assert set(own.values_list("pk", flat=True)) == set(held.values_list("grid_id", flat=True))  # "my grids"

    # customers are placed into grids of every level they fall in
    assert Customer.objects.count() == 300
    assert not Customer.objects.filter(grid_district__isnull=True).exists()
    assert Customer.objects.filter(grid_community__isnull=False).count() >= 295
    sample = Customer.objects.filter(grid_community__isnull=False).select_related("grid_community", "grid_street").first()
    assert sample.grid_community.parent_id == sample.grid_street_id
    assert sample.grid_community.geom.intersects(sample.location)

    # idempotent: a second run changes nothing
    ids = set(Grid.objects.values_list("id", flat=True))
    assignments = GridAssignment.objects.count()
    again = demo_grids_build()
    assert (again["created"], again["assigned"]) == (0, 0)
    assert set(Grid.objects.values_list("id", flat=True)) == ids and GridAssignment.objects.count() == assignments

    # the one-query verification catches a broken row (and would roll the build back)
    victim = Grid.objects.filter(level=GridLevel.COMMUNITY).order_by("code").first()
    Grid.objects.filter(pk=victim.pk).update(geom=square(100.0, 30.0, 0.01))
    with pytest.raises(DemoGridsInvalid) as error:
        demo._verify_stored([victim.code])
    assert error.value.details["problems"] == [{"code": victim.code, "problem": "outside_parent"}]
