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
