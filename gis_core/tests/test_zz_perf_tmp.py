import time
import pytest
from django.contrib.gis.geos import Point
from gis_core.choices import DivisionLevel, DivisionKind, RoleCode
from gis_core.models import AdminDivision, Poi
from gis_core.tests.place_factories import circle
from gis_core.testing import client_for

@pytest.mark.django_db
def test_perf(bank, make_user):
    rows = []
    for i in range(820):
        g = circle(112.8 + (i % 30) * 0.01, 28.0 + (i // 30) * 0.01, 0.004, vertices=400)
        rows.append(AdminDivision(code=f"4301{i:08d}", name=f"社区{i}", level=DivisionLevel.COMMUNITY, kind=DivisionKind.COMMUNITY, geom=g, centroid=g.centroid))
    AdminDivision.objects.bulk_create(rows)
    Poi.objects.bulk_create([Poi(source="t", source_id=str(i), name=f"点{i}", category="shop", geom=Point(112.8 + (i % 100) * 0.003, 28.0 + (i // 100) * 0.003, srid=4326)) for i in range(10000)])
    c = client_for(make_user(bank["head"], RoleCode.LEADER))
    for url in ["/api/divisions/?level=community", "/api/divisions/?level=community&crs=gcj02", "/api/pois/?page_size=10000", "/api/pois/?page_size=10000&crs=gcj02", "/api/search/?q=社区1"]:
        t = time.perf_counter(); r = c.get(url); dt = time.perf_counter() - t
        print(url, r.status_code, f"{dt:.2f}s", len(r.content) // 1024, "KiB")
