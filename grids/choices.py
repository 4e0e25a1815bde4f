"""Enumerations of grids (GR-1, GR-2, GR-3, GR-5)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class GridKind(models.TextChoices):
    PHYSICAL = "physical", _("实体网格")
    VIRTUAL = "virtual", _("虚拟网格")


class GridLevel(models.TextChoices):
    """Levels of physical grids, top down; lower grids compose the upper (GR-1)."""

    CITY = "city", _("市")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道乡镇")
    COMMUNITY = "community", _("社区村")
    BUILDING = "building", _("楼栋村组")


LEVEL_ORDER = [GridLevel.CITY, GridLevel.DISTRICT, GridLevel.STREET, GridLevel.COMMUNITY, GridLevel.BUILDING]


def child_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(GridLevel(level))
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


class VirtualType(models.TextChoices):
    INDUSTRIAL_PARK = "industrial_park", _("产业园区")
    BUSINESS_DISTRICT = "business_district", _("商圈")
    VERTICAL_INDUSTRY = "vertical_industry", _("垂直行业")
    SUPPLY_CHAIN = "supply_chain", _("供应链")
    ENTERPRISE = "enterprise", _("企业")


class BusinessLine(models.TextChoices):
    RETAIL = "retail", _("零售")
    CORPORATE = "corporate", _("公司")
    MICRO = "micro", _("小微")


class GridStatus(models.TextChoices):
    ACTIVE = "active", _("启用")
    RETIRED = "retired", _("已撤销")


class GridPost(models.TextChoices):
    """Posts of 定岗 (GR-5). Exactly one RESPONSIBLE person per grid at a time."""

    RESPONSIBLE = "responsible", _("网格责任人")
    ASSISTANT = "assistant", _("协管客户经理")
    SUPERVISOR = "supervisor", _("网格长")


class HistoryAction(models.TextChoices):
    CREATED = "created", _("新建")
    UPDATED = "updated", _("修改属性")
    GEOMETRY_CHANGED = "geometry_changed", _("修改边界")
    RETIRED = "retired", _("撤销")
    SPLIT = "split", _("拆分")
    MERGED = "merged", _("合并")
    GENERATED = "generated", _("生成")
    IMPORTED = "imported", _("导入")
    ASSIGNED = "assigned", _("分派")
    TRANSFERRED = "transferred", _("移交")
    RATED = "rated", _("评级")


class LiaisonType(models.TextChoices):
    VILLAGE_CADRE = "village_cadre", _("村（社区）干部")
    GRID_OFFICER = "grid_officer", _("政府网格员")
    OWNERS_COMMITTEE = "owners_committee", _("业委会成员")
    INDUSTRY_LEADER = "industry_leader", _("行业带头人")
    OTHER = "other", _("其他")


class LiaisonAction(models.TextChoices):
    RECORD = "record", _("登记客户信息")
    VISIT = "visit", _("走访客户")
    ACTIVITY = "activity", _("组织活动")
    REFER = "refer", _("推荐客户")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("进行中")
    READY = "ready", _("待审核")
    APPLIED = "applied", _("已应用")
    DISCARDED = "discarded", _("已放弃")
    FAILED = "failed", _("失败")


class GenerationMethod(models.TextChoices):
    ADMIN_DIVISIONS = "admin_divisions", _("按行政区划")
    H3 = "h3", _("按H3六边形")
    VORONOI = "voronoi", _("按网点泰森多边形")
    HOUSEHOLDS = "households", _("按目标户数")


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
