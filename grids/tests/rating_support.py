"""A hand-built world for the rating tests (GR-7): four community grids of branch A with known
customers, POIs, outlets and competitors, one community grid of branch B.

    grid   formal  potential  outlets  competitors (other banks)  shops  residential
    G1       5        1          1          0                       2       0
    G2       3        3          0          2                       0       1
    G3       3        0          0          1                       0       0
    G4       0        2          1          3 (+1 own-bank branch)  0       0
    GB      10        0          0          1                       0       0   (branch B)

G2 also holds a branch-kind institution (not an outlet), and one customer lies outside every grid.
"""
from __future__ import annotations

import itertools

from django.contrib.gis.geos import Point

from gis_core.choices import InstitutionKind, PoiCategory
from gis_core.models import Poi
from gis_core.tests.factories import InstitutionFactory
from grids.choices import GridLevel
from grids.membership import point_tables, points_place
from grids.tests.factories import GridFactory, square

SIZE = 0.01
ORIGINS = {"G1": (113.00, 28.00), "G2": (113.02, 28.00), "G3": (113.04, 28.00), "G4": (113.06, 28.00), "GB": (113.10, 28.00)}
_seq = itertools.count()

# The scheme of the worked example: value dimensions and competition as difficulty.
EXAMPLE_DIMENSIONS = [
    {"key": "customers_formal", "weight": 40},
    {"key": "customers_potential", "weight": 20},
    {"key": "outlets", "weight": 20},
    {"key": "competitors", "weight": 20, "difficulty": True},
]
EXAMPLE_THRESHOLDS = {"A": 80, "B": 45, "C": 35}


def point_in(name: str, k: int) -> Point:
    """The k-th distinct point inside grid `name` (k < 9), well away from its edges."""
    lng, lat = ORIGINS[name]
    return Point(lng + SIZE * (k + 1) / 10, lat + SIZE / 2, srid=4326)


def add_customers(name: str, *, formal: int = 0, potential: int = 0, institution, start: int = 0) -> None:
    model = point_tables()["crm.customer"].model  # grids' tests, like grids, do not import crm
    for i in range(formal + potential):
        model.objects.create(
            kind="individual", status="formal" if i < formal else "potential", name=f"客户{next(_seq)}",
            location=point_in(name, start + i), institution=institution,
        )


def add_poi(name: str, k: int, *, category: str, title: str) -> Poi:
    return Poi.objects.create(source="test", source_id=f"r{next(_seq)}", name=title, category=category, geom=point_in(name, k))


def build_world(bank) -> dict:
    a, b = bank["a"], bank["b"]
    grids = {
        name: GridFactory(institution=b if name == "GB" else a, level=GridLevel.COMMUNITY, geom=square(*ORIGINS[name], SIZE),
                          code=f"R-{name}-{next(_seq)}", name=f"评级网格{name}")
        for name in ORIGINS
    }
    add_customers("G1", formal=5, potential=1, institution=a)
    add_customers("G2", formal=3, potential=3, institution=a)
    add_customers("G3", formal=3, institution=a)
    add_customers("G4", potential=2, institution=a)
    add_customers("GB", formal=10, institution=b)
    point_tables()["crm.customer"].model.objects.create(
        kind="individual", status="formal", name="区外客户", location=Point(113.5, 28.5, srid=4326), institution=a
    )
    points_place("crm.customer")

    InstitutionFactory(code=f"OT{next(_seq)}", kind=InstitutionKind.OUTLET, parent=bank["a1"], location=point_in("G1", 0))
    InstitutionFactory(code=f"OT{next(_seq)}", kind=InstitutionKind.OUTLET, parent=bank["a1"], location=point_in("G4", 0))
    InstitutionFactory(code=f"BR{next(_seq)}", kind=InstitutionKind.BRANCH, parent=bank["head"], location=point_in("G2", 0))

    add_poi("G1", 1, category=PoiCategory.SHOP, title="便利店")
    add_poi("G1", 2, category=PoiCategory.SHOP, title="五金店")
    add_poi("G2", 1, category=PoiCategory.BANK, title="中国工商银行芙蓉支行")
    add_poi("G2", 2, category=PoiCategory.BANK, title="中国建设银行五里牌支行")
    add_poi("G2", 3, category=PoiCategory.RESIDENTIAL, title="阳光小区")
    add_poi("G3", 1, category=PoiCategory.BANK, title="邮储银行")
    for k, title in enumerate(["中国银行", "招商银行", "华融湘江银行"], start=1):
        add_poi("G4", k, category=PoiCategory.BANK, title=title)
    add_poi("G4", 4, category=PoiCategory.BANK, title="长沙农商银行东屯渡支行")  # our own bank: not a competitor
    add_poi("GB", 1, category=PoiCategory.BANK, title="交通银行")
    return grids
