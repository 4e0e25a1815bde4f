"""factory_boy factories for grids: valid square grids created through the `grid_create` service, so
every rule (valid geometry, inside the parent, no sibling overlap) holds for what tests build.

    parent = GridFactory(institution=bank["a"], level="district", geom=square(112.90, 28.10, 0.10))
    child = GridFactory(institution=bank["a"], parent=parent, level="street", geom=square(112.91, 28.11, 0.02))
    assign_responsible(child, manager)

Without `geom`, each grid gets its own 0.015° square on a lattice around Changsha, so top-level grids
made one after the other never overlap.
"""
from __future__ import annotations

import factory
from django.contrib.gis.geos import MultiPolygon, Polygon

from gis_core.tests.factories import InstitutionFactory
from grids.choices import GridKind, GridLevel, GridPost
from grids.models import Grid, GridAssignment


def square(lng: float, lat: float, size: float = 0.01) -> MultiPolygon:
    """A WGS-84 square MultiPolygon with its south-west corner at (lng, lat), `size` degrees wide."""
    ring = ((lng, lat), (lng + size, lat), (lng + size, lat + size), (lng, lat + size), (lng, lat))
    return MultiPolygon(Polygon(ring), srid=4326)


def _lattice_square(n: int) -> MultiPolygon:
    return square(112.50 + (n % 40) * 0.02, 27.50 + (n // 40) * 0.02, 0.015)


class GridFactory(factory.django.DjangoModelFactory):
    """A physical district grid (override kind/level/virtual_type/parent/geom as needed)."""

    class Meta:
        model = Grid

    kind = GridKind.PHYSICAL
    level = GridLevel.DISTRICT
    virtual_type = ""
    parent = None
    code = factory.Sequence(lambda n: f"TG{n:05d}")
    name = factory.Sequence(lambda n: f"测试网格{n}")
    institution = factory.SubFactory(InstitutionFactory)
    geom = factory.Sequence(_lattice_square)
    business_lines = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from grids.services.editing import grid_create

        return grid_create(actor=kwargs.pop("actor", None), **kwargs)


def assign_responsible(grid: Grid, person, *, post: str = GridPost.RESPONSIBLE) -> GridAssignment:
    """Make `person` hold `post` on `grid` from today (through the `grid_assign` service)."""
    from grids.services.assignment import grid_assign

    return grid_assign(actor=None, grid=grid, person=person, post=post)


def grid_world(bank: dict, make_user) -> dict:
    """A small grid hierarchy over the `bank` fixture and one person per case of the scope matrix.

        district_a (branch A)  [112.90..113.00] x [28.10..28.20]   ── street_a1 (sub-branch A1)
                                                                  └─ street_a2 (branch A)
        district_b (branch B)  [113.00..113.10] x [28.10..28.20]   (shares district_a's east edge)

    People: bm_a / bm_b branch managers of A / B, am (account manager in A1, responsible for
    street_a1), am_free (account manager in A1 without grids), am2 (another account manager in A1),
    nobody (an auditor in A: no grid permission at all), leader (head office).
    """
    from gis_core.choices import RoleCode

    people = {
        "bm_a": make_user(bank["a"], RoleCode.BRANCH_MANAGER, display_name="甲支行长"),
        "bm_b": make_user(bank["b"], RoleCode.BRANCH_MANAGER, display_name="乙支行长"),
        "am": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER, display_name="张经理"),
        "am_free": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER, display_name="闲经理"),
        "am2": make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER, display_name="李经理"),
        "nobody": make_user(bank["a"], RoleCode.AUDITOR, display_name="审计"),
        "leader": make_user(bank["head"], RoleCode.LEADER, display_name="行领导"),
    }
    district_a = GridFactory(institution=bank["a"], code="D-A", name="芙蓉区", geom=square(112.90, 28.10, 0.10))
    district_b = GridFactory(institution=bank["b"], code="D-B", name="岳麓区", geom=square(113.00, 28.10, 0.10))
    street_a1 = GridFactory(
        institution=bank["a1"], parent=district_a, level=GridLevel.STREET, code="S-A1", name="五里牌街道",
        geom=square(112.91, 28.11, 0.03),
    )
    street_a2 = GridFactory(
        institution=bank["a"], parent=district_a, level=GridLevel.STREET, code="S-A2", name="火星街道",
        geom=square(112.95, 28.11, 0.03),
    )
    assign_responsible(street_a1, people["am"])
    return {**people, "district_a": district_a, "district_b": district_b, "street_a1": street_a1, "street_a2": street_a2}
