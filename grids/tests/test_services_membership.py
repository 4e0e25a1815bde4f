# covers: GR-1, GR-4, CR-10
"""Spatial membership (grids.membership): customers are placed into the grid of every level after a
grid is created, edited or retired (the re-placement task runs on commit, eagerly in tests), and a
point exactly on an edge shared by two grids of one level belongs to the one with the smaller id —
the bulk statement and `grid_for_point` agree on every point."""
from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from crm.models import Customer
from grids.membership import grid_for_point, points_place
from grids.services.editing import grid_retire, grid_update
from grids.tests.factories import GridFactory, square

pytestmark = pytest.mark.django_db

LEVELS = ("district", "street", "community", "building")


def customer(bank, name, x, y):
    return Customer.objects.create(kind="individual", status="formal", name=name, institution=bank["a"],
                                   location=Point(x, y, srid=4326))


def columns(c):
    c.refresh_from_db()
    return (c.grid_district_id, c.grid_street_id)


def test_customers_are_placed_per_level_after_create_edit_and_retire(bank, django_capture_on_commit_callbacks):
    inside = customer(bank, "街内", 112.915, 28.115)
    district_only = customer(bank, "区内街外", 112.99, 28.19)
    outside = customer(bank, "区外", 113.5, 28.5)
    assert columns(inside) == (None, None)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        district = GridFactory(institution=bank["a"], code="D-1", name="芙蓉区", geom=square(112.90, 28.10, 0.10))
    assert callbacks  # the re-placement was queued on commit and ran
    assert columns(inside) == (district.pk, None) and columns(district_only) == (district.pk, None)

    with django_capture_on_commit_callbacks(execute=True):
        street = GridFactory(institution=bank["a"], parent=district, level="street", code="S-1", name="街道",
                             geom=square(112.91, 28.11, 0.02))
    assert columns(inside) == (district.pk, street.pk)
    assert columns(district_only) == (district.pk, None) and columns(outside) == (None, None)

    # the street shrinks away from the customer: re-placed in the old and new areas
    with django_capture_on_commit_callbacks(execute=True):
        grid_update(actor=None, grid=street, expected_version=1, geom=square(112.92, 28.12, 0.01))
    assert columns(inside) == (district.pk, None)
    moved_in = customer(bank, "新街内", 112.925, 28.125)
    points_place("crm.customer")
    assert columns(moved_in) == (district.pk, street.pk)

    # a virtual grid never changes the physical columns
    with django_capture_on_commit_callbacks(execute=True):
        GridFactory(institution=bank["a"], kind="virtual", level="", virtual_type="business_district", code="V-1",
                    name="商圈", geom=square(112.92, 28.12, 0.01))
    assert columns(moved_in) == (district.pk, street.pk)

    with django_capture_on_commit_callbacks(execute=True):
        grid_retire(actor=None, grid=street, expected_version=2)
    assert columns(moved_in) == (district.pk, None)


def test_a_point_on_a_shared_edge_belongs_to_the_smaller_id_at_each_level(bank):
    # districts: A gets the smaller id. Streets: B's street is created first, so B has the smaller id.
    district_a = GridFactory(institution=bank["a"], code="D-A", name="甲区", geom=square(112.90, 28.10, 0.10))
    district_b = GridFactory(institution=bank["b"], code="D-B", name="乙区", geom=square(113.00, 28.10, 0.10))
    street_b = GridFactory(institution=bank["b"], parent=district_b, level="street", code="S-B", name="乙街",
                           geom=square(113.00, 28.11, 0.03))
    street_a = GridFactory(institution=bank["a"], parent=district_a, level="street", code="S-A", name="甲街",
                           geom=square(112.97, 28.11, 0.03))
    assert district_a.pk < district_b.pk and street_b.pk < street_a.pk
    on_edge = customer(bank, "边界上", 113.0, 28.12)  # on x = 113.0, shared by both districts and both streets
    on_corner = customer(bank, "角点上", 113.0, 28.11)  # a vertex of both streets
    on_district_edge = customer(bank, "区界上", 113.0, 28.18)  # shared district edge, no street there
    west = customer(bank, "西侧", 112.98, 28.12)
    east = customer(bank, "东侧", 113.01, 28.12)
    points_place("crm.customer")

    assert columns(on_edge) == (district_a.pk, street_b.pk)
    assert columns(on_corner) == (district_a.pk, street_b.pk)
    assert columns(on_district_edge) == (district_a.pk, None)
    assert columns(west) == (district_a.pk, street_a.pk)
    assert columns(east) == (district_b.pk, street_b.pk)
    # the single-point rule agrees with the bulk statement on every point and level
    for c in (on_edge, on_corner, on_district_edge, west, east):
        c.refresh_from_db()
        for level in LEVELS:
            grid = grid_for_point(c.location, level=level)
            assert (grid.pk if grid else None) == getattr(c, f"grid_{level}_id"), (c.name, level)
    # placing again changes no row (idempotent)
    assert points_place("crm.customer") == 0
