# covers: GR-4, GR-1
"""The editing services under concurrency: two editors at once. Sequential edits on a stale
version get 409 (tested through the API in test_api_grids); here two threads really race to create
overlapping siblings, and the sibling group's advisory lock lets exactly one of them through."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from gis_core.errors import Conflict, ValidationFailed
from grids.models import Grid
from grids.services.editing import grid_create, grid_update
from grids.tests.factories import GridFactory, square


def _race(jobs):
    """Run the callables at the same moment, each in its own thread (and database connection)."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", job())
        except (ValidationFailed, Conflict) as exc:
            results[index] = (exc.code, exc)
        except Exception as exc:  # noqa: BLE001 - reported below, never swallowed
            results[index] = ("crash", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_editors_creating_overlapping_siblings_at_once_exactly_one_wins(bank):
    district = GridFactory(institution=bank["a"], code="D-1", name="芙蓉区", geom=square(112.90, 28.10, 0.10))

    def create(code, x, y):
        return lambda: grid_create(actor=None, code=code, name=code, kind="physical", level="street", parent=district,
                                   institution=bank["a"], geom=square(x, y, 0.03))

    for attempt in range(3):  # three rounds, so a lucky interleaving cannot pass by chance
        codes = (f"S-{attempt}-A", f"S-{attempt}-B")
        y = 28.105 + attempt * 0.031
        results = _race([create(codes[0], 112.91, y), create(codes[1], 112.92, y)])
        outcomes = sorted(r[0] for r in results)
        assert outcomes == ["geometry_overlaps_sibling", "ok"], results
        assert Grid.objects.filter(code__in=codes).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_editors_updating_the_same_version_at_once_the_second_gets_409(bank):
    grid = GridFactory(institution=bank["a"], code="D-1", name="芙蓉区", geom=square(112.90, 28.10, 0.10))
    results = _race([
        lambda: grid_update(actor=None, grid=grid, expected_version=1, name="甲改"),
        lambda: grid_update(actor=None, grid=grid, expected_version=1, name="乙改"),
    ])
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["grid_version_conflict", "ok"], results
    loser = next(r[1] for r in results if r[0] != "ok")
    assert loser.details["current_version"] == 2
    grid.refresh_from_db()
    assert grid.version == 2 and grid.name in ("甲改", "乙改")
