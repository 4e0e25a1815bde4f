"""Enumerations of gis_core. Labels are Chinese msgids; English comes from locale/en."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class InstitutionKind(models.TextChoices):
    HEAD_OFFICE = "head_office", _("总行")
    BRANCH = "branch", _("分行")
    SUB_BRANCH = "sub_branch", _("支行")
    OUTLET = "outlet", _("网点")


# Which kind may sit under which (ORG-1).
INSTITUTION_CHILD_KINDS = {
    InstitutionKind.HEAD_OFFICE: {InstitutionKind.BRANCH, InstitutionKind.SUB_BRANCH},
    InstitutionKind.BRANCH: {InstitutionKind.SUB_BRANCH, InstitutionKind.OUTLET},
    InstitutionKind.SUB_BRANCH: {InstitutionKind.OUTLET},
    InstitutionKind.OUTLET: set(),
}


class RoleCode(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    AUDITOR = "auditor", _("审计员")
    LEADER = "leader", _("行领导")
    BRANCH_MANAGER = "branch_manager", _("支行管理者")
    ACCOUNT_MANAGER = "account_manager", _("客户经理")
    ANALYST = "analyst", _("数据分析员")
    GRID_LIAISON = "grid_liaison", _("金融三员")


# Pairs of roles one person may never hold together (SEC-4: separation of duties).
INCOMPATIBLE_ROLES = [
    frozenset({RoleCode.SYSTEM_ADMIN, RoleCode.AUDITOR}),
]


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道乡镇")
    COMMUNITY = "community", _("社区村")


class DivisionKind(models.TextChoices):
    """Finer classification inside a level, from the official name."""

    PROVINCE = "province", _("省")
    CITY = "city", _("地级市")
    DISTRICT = "district", _("市辖区")
    SUBDISTRICT = "subdistrict", _("街道")
    TOWN = "town", _("镇")
    PSEUDO = "pseudo", _("统计虚拟单元")
    COMMUNITY = "community", _("社区")
    VILLAGE = "village", _("村")


class GeometrySource(models.TextChoices):
    REAL = "real", _("真实边界")
    SYNTHETIC = "synthetic", _("合成边界")
    NONE = "none", _("无边界")


class PoiCategory(models.TextChoices):
    """The platform's economic-unit categories (GC-4); OSM fclass values map onto these."""

    BANK = "bank", _("银行网点")
    ATM = "atm", _("自助银行")
    RESIDENTIAL = "residential", _("住宅小区")
    SCHOOL = "school", _("学校")
    HOSPITAL = "hospital", _("医疗机构")
    MARKET = "market", _("市场商超")
    SHOP = "shop", _("商铺")
    FOOD = "food", _("餐饮")
    COMPANY = "company", _("企业园区")
    GOVERNMENT = "government", _("政府机构")
    HOTEL = "hotel", _("酒店")
    LEISURE = "leisure", _("文体休闲")
    TRANSPORT = "transport", _("交通设施")
    OTHER = "other", _("其他")


class AuditResult(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失败")
    DENIED = "denied", _("拒绝")
