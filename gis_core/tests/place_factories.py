"""Small hand-made admin divisions and POIs with valid geometries (not the full Changsha data).

    长沙市 430100000000 (city)
    ├── 芙蓉区 430102000000 (district, east)
    │   └── 文艺路街道 430102001000 (street)
    │       └── 识字岭社区 430102001001 (community)
    └── 岳麓区 430104000000 (district, west)

POIs: 芙蓉区政府 (government, in the community), 识字岭菜市场 (market, in the community),
岳麓书院 (leisure, in 岳麓区).
"""
from __future__ import annotations

import math

import factory
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from gis_core.choices import DivisionKind, DivisionLevel, GeometrySource, PoiCategory
from gis_core.models import AdminDivision, Poi


def box(xmin: float, ymin: float, xmax: float, ymax: float) -> MultiPolygon:
    polygon = Polygon.from_bbox((xmin, ymin, xmax, ymax))
    return MultiPolygon(polygon, srid=4326)


def circle(lng: float, lat: float, radius: float, vertices: int = 2000) -> MultiPolygon:
    """A dense polygon (many vertices) for checking server-side simplification."""
    ring = [(lng + radius * math.cos(2 * math.pi * i / vertices), lat + radius * math.sin(2 * math.pi * i / vertices)) for i in range(vertices)]
    ring.append(ring[0])
    return MultiPolygon(Polygon(ring), srid=4326)


class AdminDivisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminDivision

    code = factory.Sequence(lambda n: f"4399{n:08d}")
    name = factory.Sequence(lambda n: f"测试区划{n}")
    short_name = ""
    level = DivisionLevel.DISTRICT
    kind = DivisionKind.DISTRICT
    parent = None
    geom = factory.LazyFunction(lambda: box(112.9, 28.1, 113.0, 28.2))
    geometry_source = GeometrySource.REAL
    centroid = factory.LazyAttribute(lambda o: o.geom.point_on_surface if o.geom else None)
    area_km2 = factory.LazyAttribute(lambda o: round(o.geom.transform(3857, clone=True).area / 1e6, 3) if o.geom else None)


class PoiFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Poi

    source = "test"
    source_id = factory.Sequence(lambda n: f"P{n:06d}")
    name = factory.Sequence(lambda n: f"测试兴趣点{n}")
    category = PoiCategory.OTHER
    source_class = ""
    division = None
    geom = factory.LazyFunction(lambda: Point(112.95, 28.15, srid=4326))


def make_places() -> dict:
    """The tree and POIs described in the module docstring; returns them by short key."""
    city = AdminDivisionFactory(
        code="430100000000", name="长沙市", short_name="长沙", level=DivisionLevel.CITY, kind=DivisionKind.CITY,
        geom=box(112.6, 27.9, 113.4, 28.6),
    )
    furong = AdminDivisionFactory(
        code="430102000000", name="芙蓉区", short_name="芙蓉", level=DivisionLevel.DISTRICT, parent=city,
        geom=box(112.97, 28.15, 113.05, 28.23),
    )
    yuelu = AdminDivisionFactory(
        code="430104000000", name="岳麓区", short_name="岳麓", level=DivisionLevel.DISTRICT, parent=city,
        geom=box(112.80, 28.15, 112.96, 28.30),
    )
    street = AdminDivisionFactory(
        code="430102001000", name="文艺路街道", level=DivisionLevel.STREET, kind=DivisionKind.SUBDISTRICT,
        parent=furong, geom=box(112.98, 28.18, 113.00, 28.20), geometry_source=GeometrySource.SYNTHETIC,
    )
    community = AdminDivisionFactory(
        code="430102001001", name="识字岭社区", level=DivisionLevel.COMMUNITY, kind=DivisionKind.COMMUNITY,
        parent=street, geom=box(112.985, 28.185, 112.99, 28.19), geometry_source=GeometrySource.SYNTHETIC,
    )
    government = PoiFactory(
        name="芙蓉区政府", category=PoiCategory.GOVERNMENT, source_class="town_hall", division=community,
        geom=Point(112.987, 28.187, srid=4326),
    )
    market = PoiFactory(
        name="识字岭菜市场", category=PoiCategory.MARKET, source_class="marketplace", division=community,
        geom=Point(112.988, 28.188, srid=4326),
    )
    academy = PoiFactory(
        name="岳麓书院", category=PoiCategory.LEISURE, source_class="attraction", division=yuelu,
        geom=Point(112.937, 28.183, srid=4326),
    )
    return {
        "city": city, "furong": furong, "yuelu": yuelu, "street": street, "community": community,
        "government": government, "market": market, "academy": academy,
    }
