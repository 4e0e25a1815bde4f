"""Deterministic demo organisation for `make_demo` (needs the Changsha base data loaded).

Head office, one branch per urban district (at the district's centroid), sub-branches at real bank
POIs of each district (or at residential estates where OSM maps no bank), and staff for every role.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from gis_core.choices import DivisionLevel, InstitutionKind, PoiCategory, RoleCode
from gis_core.errors import ValidationFailed
from gis_core.models import AdminDivision, Institution, Poi, Role, User
from gis_core.services.organisation import institution_create, remember_password

DEMO_PASSWORD = "Demo@2026"
SUB_BRANCHES_PER_DISTRICT = 3


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    institution_code: str
    display_name: str


def demo_logins() -> list[DemoLogin]:
    """The documented demo accounts (all with DEMO_PASSWORD)."""
    return [
        DemoLogin("admin", RoleCode.SYSTEM_ADMIN, "CSRCB", "系统管理员"),
        DemoLogin("auditor", RoleCode.AUDITOR, "CSRCB", "审计员"),
        DemoLogin("leader", RoleCode.LEADER, "CSRCB", "行长 王建国"),
        DemoLogin("analyst", RoleCode.ANALYST, "CSRCB", "分析员 陈晓"),
        DemoLogin("furong_leader", RoleCode.LEADER, "CS430102", "芙蓉支行行长 刘洋"),
        DemoLogin("furong_mgr", RoleCode.BRANCH_MANAGER, "CS430102", "芙蓉支行网格主管 赵敏"),
        DemoLogin("furong_am1", RoleCode.ACCOUNT_MANAGER, "CS430102-01", "客户经理 李娜"),
        DemoLogin("furong_am2", RoleCode.ACCOUNT_MANAGER, "CS430102-02", "客户经理 周杰"),
        DemoLogin("yuelu_mgr", RoleCode.BRANCH_MANAGER, "CS430104", "岳麓支行网格主管 孙磊"),
        DemoLogin("yuelu_am1", RoleCode.ACCOUNT_MANAGER, "CS430104-01", "客户经理 吴芳"),
        DemoLogin("liaison", RoleCode.GRID_LIAISON, "CS430102-01", "金融三员 郑大伯"),
    ]


def _short(name: str) -> str:
    for suffix in ("区",):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@transaction.atomic
def demo_organisation_build(*, seed: int = 2026) -> dict[str, int]:
    """Create (or complete) the demo bank and its staff; returns counts. Idempotent."""
    districts = list(AdminDivision.objects.filter(level=DivisionLevel.DISTRICT).order_by("code"))
    if not districts:
        raise ValidationFailed("行政区划数据未加载，请先运行 load_changsha", code="base_data_missing")
    rng = random.Random(seed)
    head = Institution.objects.filter(code="CSRCB").first() or institution_create(
        actor=None, code="CSRCB", name="长沙农村商业银行", kind=InstitutionKind.HEAD_OFFICE,
        address="湖南省长沙市芙蓉区芙蓉中路二段", location=districts[0].centroid,
    )
    for district in districts:
        code = f"CS{district.code}"
        branch = Institution.objects.filter(code=code).first() or institution_create(
            actor=None, code=code, name=f"{_short(district.name)}支行", kind=InstitutionKind.BRANCH, parent=head,
            address=f"湖南省长沙市{district.name}", location=district.centroid,
        )
        pois = list(
            Poi.objects.filter(division__parent__parent=district, category=PoiCategory.BANK).order_by("source_id")
        ) or list(Poi.objects.filter(division__parent__parent=district, category=PoiCategory.RESIDENTIAL).order_by("source_id"))
        rng.shuffle(pois)
        for index, poi in enumerate(pois[:SUB_BRANCHES_PER_DISTRICT], start=1):
            sub_code = f"{code}-{index:02d}"
            if Institution.objects.filter(code=sub_code).exists():
                continue
            street = poi.division.parent.name if poi.division and poi.division.parent else district.name
            institution_create(
                actor=None, code=sub_code, name=f"{street.replace('街道', '').replace('镇', '')}分理处",
                kind=InstitutionKind.SUB_BRANCH, parent=branch,
                address=f"湖南省长沙市{district.name}{street}（{poi.name}附近）", location=poi.geom,
            )
    roles = {r.code: r for r in Role.objects.all()}
    created = 0
    for login in demo_logins():
        if User.objects.filter(username=login.username).exists():
            continue
        institution = Institution.objects.filter(code=login.institution_code).first()
        if institution is None:  # a district without sub-branches: fall back to its branch
            institution = Institution.objects.get(code=login.institution_code.split("-")[0])
        user = User(
            username=login.username, display_name=login.display_name, institution=institution,
            employee_no=f"D{created + 1:04d}", must_change_password=False, password_changed_at=timezone.now(),
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.roles.set([roles[login.role]])
        remember_password(user)
        created += 1
    return {
        "institutions": Institution.objects.filter(path__startswith=head.path).count(),
        "users_created": created,
    }
