"""A small world for the segment and tag tests: the `bank` fixture's institutions with people per case
of the scope matrix, a grid hierarchy in branch A (district → street → community) and one district
in branch B, customers of every kind placed into the grids by grids.membership, tags and products.

    district_a  [112.90..113.00] x [28.10..28.20]  (branch A)
      └ street_a1  [112.90..112.95] x [28.10..28.15]  (sub-branch A1)
          └ community_a1  [112.90..112.92] x [28.10..28.12]
    district_b  [113.00..113.10] x [28.10..28.20]  (branch B)
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.gis.geos import Point
from django.utils import timezone

from crm.choices import ArchiveType, CustomerKind, CustomerStatus, GeocodeStatus, ProductCategory, TagKind
from crm.models import Customer, CustomerProduct, CustomerTag, Product, Tag
from gis_core.choices import InstitutionKind, RoleCode
from gis_core.crypto import keyed_hash
from gis_core.tests.factories import InstitutionFactory
from grids.choices import GridLevel
from grids.membership import points_place
from grids.tests.factories import GridFactory, square


def make_customer(institution, name: str = "客户", **fields) -> Customer:
    """A customer with sensible defaults; `location=(lng, lat)` or None."""
    location = fields.pop("location", None)
    phone = fields.pop("phone", "13800000000")
    defaults = {
        "kind": CustomerKind.INDIVIDUAL, "status": CustomerStatus.FORMAL, "geocode_status": GeocodeStatus.MATCHED,
        "phone": phone, "phone_hash": keyed_hash(phone),
    }
    defaults.update(fields)
    return Customer.objects.create(
        institution=institution, name=name, location=Point(*location, srid=4326) if location else None, **defaults
    )


def hold(customer: Customer, product: Product, balance: int) -> CustomerProduct:
    return CustomerProduct.objects.create(customer=customer, product=product, balance=Decimal(balance))


def tag(customer: Customer, tag_obj: Tag) -> CustomerTag:
    return CustomerTag.objects.create(customer=customer, tag=tag_obj)


def years_ago(years: int, *, days: int = 0) -> dt.date:
    """A birth date `years` years before today, `days` earlier still (so the age is exact)."""
    today = timezone.localdate()
    try:
        base = today.replace(year=today.year - years)
    except ValueError:
        base = today.replace(year=today.year - years, day=28)
    return base - dt.timedelta(days=days)


def segment_world(bank: dict, make_user) -> dict:
    """People, grids, an outlet, products, tags and customers (see the module docstring)."""
    w: dict = {"bank": bank}
    w.update(
        bm_a=make_user(bank["a"], RoleCode.BRANCH_MANAGER, display_name="甲支行长"),
        bm_a2=make_user(bank["a"], RoleCode.BRANCH_MANAGER, display_name="甲副行长"),
        bm_b=make_user(bank["b"], RoleCode.BRANCH_MANAGER, display_name="乙支行长"),
        am=make_user(bank["a1"], RoleCode.ACCOUNT_MANAGER, display_name="张经理"),
        analyst_a=make_user(bank["a"], RoleCode.ANALYST, display_name="甲分析员"),
        leader=make_user(bank["head"], RoleCode.LEADER, display_name="行领导"),
        auditor=make_user(bank["a"], RoleCode.AUDITOR, display_name="审计"),
        admin=make_user(bank["head"], RoleCode.SYSTEM_ADMIN, display_name="管理员"),
    )
    w["outlet"] = InstitutionFactory(
        code="OA1", name="五里牌网点", kind=InstitutionKind.OUTLET, parent=bank["a1"], location=Point(112.905, 28.105, srid=4326)
    )
    w["district_a"] = GridFactory(institution=bank["a"], code="D-A", name="甲区", geom=square(112.90, 28.10, 0.10))
    w["street_a1"] = GridFactory(
        institution=bank["a1"], parent=w["district_a"], level=GridLevel.STREET, code="S-A1", name="甲街道",
        geom=square(112.90, 28.10, 0.05),
    )
    w["community_a1"] = GridFactory(
        institution=bank["a1"], parent=w["street_a1"], level=GridLevel.COMMUNITY, code="C-A1", name="甲社区",
        geom=square(112.90, 28.10, 0.02),
    )
    w["district_b"] = GridFactory(institution=bank["b"], code="D-B", name="乙区", geom=square(113.00, 28.10, 0.10))

    w["deposit"] = Product.objects.create(code="DEP1Y", name="一年定期", category=ProductCategory.DEPOSIT)
    w["loan"] = Product.objects.create(code="LOAN-F", name="农户贷", category=ProductCategory.LOAN)
    w["vip"] = Tag.objects.create(code="vip", name="贵宾")
    w["farmer"] = Tag.objects.create(code="farmer", name="种植户")

    a, a1, b, b1 = bank["a"], bank["a1"], bank["b"], bank["b1"]
    c = {}
    # ~100 m from the outlet, in the community grid
    c["a1_near"] = make_customer(a1, "王小红", gender="F", birth_date=years_ago(30, days=10), location=(112.906, 28.1055),
                                 manager=w["am"])
    c["a_street"] = make_customer(a, "长沙甲商贸有限公司", kind=CustomerKind.CORPORATE, status=CustomerStatus.POTENTIAL,
                                  archive_type=ArchiveType.MICRO_ENTERPRISE, location=(112.93, 28.13))
    c["a_old"] = make_customer(a, "李大山", gender="M", birth_date=years_ago(66, days=40), location=(112.97, 28.17),
                               archive_type=ArchiveType.FARM_HOUSEHOLD)
    c["a1_unlocated"] = make_customer(a1, "赵小兵", gender="M", birth_date=years_ago(18), geocode_status=GeocodeStatus.FAILED,
                                      manager=w["am"])
    c["a_young"] = make_customer(a, "刘洋", gender="M", birth_date=years_ago(25, days=200), status=CustomerStatus.POTENTIAL,
                                 location=(112.915, 28.115))
    c["b_vip"] = make_customer(b, "陈富贵", gender="M", birth_date=years_ago(45), location=(113.05, 28.15))
    c["b1_plain"] = make_customer(b1, "周平", gender="F", status=CustomerStatus.POTENTIAL, birth_date=years_ago(30, days=5))
    w["c"] = c

    tag(c["a1_near"], w["vip"])
    tag(c["a_street"], w["vip"])
    tag(c["b_vip"], w["vip"])
    tag(c["a_old"], w["farmer"])
    hold(c["a1_near"], w["deposit"], 60_000)
    hold(c["a_old"], w["deposit"], 5_000)
    hold(c["a_street"], w["loan"], 300_000)
    hold(c["b_vip"], w["deposit"], 100_000)
    points_place("crm.customer")
    return w


def rule_tag(code: str, rule: dict, name: str = "规则标签") -> Tag:
    return Tag.objects.create(code=code, name=name, kind=TagKind.RULE, rule=rule)
