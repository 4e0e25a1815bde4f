"""Writes and rules of crm: keyword-only, typed, atomic, audited (gis_core.audit.audit_log)."""
from __future__ import annotations

import random

from django.contrib.gis.geos import Point
from django.db import models, transaction

from crm.choices import ArchiveType, CustomerKind, CustomerStatus, GeocodeStatus, IdType
from crm.models import Customer
from gis_core.audit import audit_log
from gis_core.choices import InstitutionKind, PoiCategory, RoleCode
from gis_core.crypto import keyed_hash
from gis_core.models import Institution, Poi, User
from gis_core.validators import resident_id_birth_and_gender, resident_id_check_char

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强志明海燕红梅春梅雪梅晓东晓明丽娟丽华金凤玉兰文军文华湘湘湘君湘平"
_SHOP_WORDS = ["便利店", "米粉店", "五金店", "水果店", "药房", "理发店", "早餐店", "烟酒店", "茶叶店", "农资店"]
_FIRM_WORDS = ["商贸有限公司", "建材有限公司", "农业科技有限公司", "电子商务有限公司", "餐饮管理有限公司", "物流有限公司"]


def _person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice([1, 2])))


def _resident_id(rng: random.Random, district_code: str) -> str:
    birth = f"{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = f"{district_code}{birth}{rng.randint(0, 999):03d}"
    return first17 + resident_id_check_char(first17)


def _jitter(rng: random.Random, point: Point, metres: float = 80.0) -> Point:
    # about 1e-5 degrees per metre at Changsha's latitude; good enough for demo scatter
    return Point(point.x + rng.uniform(-metres, metres) * 1.02e-5, point.y + rng.uniform(-metres, metres) * 0.9e-5, srid=4326)


@transaction.atomic
def customer_demo_generate(*, count: int, seed: int = 2026) -> int:
    """Deterministic demo customers at real residential estates and shops of Changsha, each owned
    by the nearest demo institution's subtree and managed by one of its account managers.
    Idempotent: only tops up to `count` demo customers."""
    existing = Customer.objects.count()
    if existing >= count:
        return 0
    rng = random.Random(seed + existing)
    homes = list(Poi.objects.filter(category=PoiCategory.RESIDENTIAL, division__isnull=False).select_related("division__parent__parent").order_by("id"))
    shops = list(Poi.objects.filter(category__in=[PoiCategory.SHOP, PoiCategory.FOOD, PoiCategory.MARKET], division__isnull=False).select_related("division__parent__parent").order_by("id"))
    branches = {i.code[2:]: i for i in Institution.objects.filter(kind=InstitutionKind.BRANCH, code__startswith="CS")}
    managers_by_branch: dict[int, list[User]] = {}
    for user in User.objects.filter(roles__code=RoleCode.ACCOUNT_MANAGER).select_related("institution"):
        for branch in branches.values():
            if user.institution.path.startswith(branch.path):
                managers_by_branch.setdefault(branch.pk, []).append(user)
    if not homes or not branches:
        return 0
    rows = []
    for _ in range(count - existing):
        corporate = rng.random() < 0.15
        poi = rng.choice(shops if corporate and shops else homes)
        community = poi.division
        street = community.parent
        district = street.parent
        branch = branches.get(district.code) or next(iter(branches.values()))
        subs = list(branch.children.all()) if hasattr(branch, "children") else []
        institution = rng.choice(subs) if subs and rng.random() < 0.8 else branch
        candidates = [m for m in managers_by_branch.get(branch.pk, []) if m.institution.path.startswith(institution.path)]
        manager = rng.choice(candidates) if candidates else None
        name = (rng.choice(_SURNAMES) + "记" + rng.choice(_SHOP_WORDS)) if corporate and rng.random() < 0.5 else (
            f"长沙{rng.choice(_SURNAMES)}{rng.choice('兴达丰顺隆盛')}{rng.choice(_FIRM_WORDS)}" if corporate else _person_name(rng)
        )
        id_number = "" if corporate else _resident_id(rng, district.code)
        birth, gender = resident_id_birth_and_gender(id_number) if id_number else (None, "")
        phone = f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"
        building = rng.randint(1, 30)
        address = f"湖南省长沙市{district.name}{street.name}{poi.name}{building}栋{rng.randint(1, 6)}单元{rng.randint(1, 33)}0{rng.randint(1, 4)}室"
        rows.append(
            Customer(
                kind=CustomerKind.CORPORATE if corporate else CustomerKind.INDIVIDUAL,
                status=CustomerStatus.FORMAL if rng.random() < 0.7 else CustomerStatus.POTENTIAL,
                archive_type=rng.choice([ArchiveType.MERCHANT, ArchiveType.MICRO_ENTERPRISE]) if corporate else rng.choice(
                    [ArchiveType.NONE, ArchiveType.NONE, ArchiveType.FARM_HOUSEHOLD]
                ),
                name=name, id_type=IdType.RESIDENT_ID if id_number else "",
                id_number=id_number, id_number_hash=keyed_hash(id_number), phone=phone, phone_hash=keyed_hash(phone),
                birth_date=birth, gender=gender, geocode_status=GeocodeStatus.MATCHED, geocode_level="poi",
                geocode_confidence=0.9, geocode_source="demo", input_crs="wgs84",
                address=address, location=_jitter(rng, poi.geom), institution=institution, manager=manager,
            )
        )
    Customer.objects.bulk_create(rows, batch_size=1000)
    audit_log(actor=None, action="crm.customer.demo_generated", data={"count": len(rows), "seed": seed})
    return len(rows)


def customers_in_grid(grid) -> "models.QuerySet[Customer]":
    """Customers placed in a grid: by the membership column of its level, or by geometry for virtual grids."""
    from grids.choices import GridKind

    if grid.kind == GridKind.PHYSICAL and grid.level in {"district", "street", "community", "building"}:
        return Customer.objects.filter(**{f"grid_{grid.level}": grid})
    return Customer.objects.filter(location__intersects=grid.geom)


def customers_transfer_for_grid(*, grid, from_user, to_user, actor) -> int:
    """Transfer participant (grids.transfer): the grid's customers managed by `from_user` move to
    `to_user` (管户关系). Runs inside the transfer's transaction."""
    moved = customers_in_grid(grid).filter(manager=from_user).update(manager=to_user)
    if moved:
        audit_log(actor=actor, action="crm.customer.manager_transferred", obj=grid, data={"count": moved, "from": from_user.username, "to": to_user.username})
    return moved
