"""The segments page (客群管理, CR-4): the list, an editor with a condition builder, the live count,
the map preview, drawing a polygon, and the approval steps with their log.

Thin like every page: it checks the declared permission and hands the ES module
(crm/static/crm/segments.js) its API URLs, the choice lists of the condition builder (fields, tags,
products, outlets and managers the user may see) and every string in the page language. Every read
and write goes through the REST API of crm.api.segments, which checks everything again.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.choices import (
    ApprovalStatus,
    ArchiveType,
    CustomerKind,
    CustomerStatus,
    Gender,
    GeocodeStatus,
    ProductCategory,
    Visibility,
)
from crm.models import Product, Tag
from crm.permissions import Perm
from gis_core.choices import RoleCode
from gis_core.models import Institution, User
from gis_core.permissions import Perm as MapPerm


def _choices(enum) -> list[dict[str, str]]:
    return [{"value": c.value, "label": str(c.label)} for c in enum]


def _strings() -> dict[str, str]:
    """Every string segments.js shows, in the page language."""
    return {
        "load_failed": _("加载失败，请稍后重试"),
        "network_error": _("网络异常，请检查网络后重试"),
        "empty_list": _("还没有客群，点击“新建客群”开始"),
        "new_segment": _("新建客群"),
        "untitled": _("未命名客群"),
        "counting": _("正在计算…"),
        "count": _("符合条件的客户：{n} 位"),
        "count_error": _("规则有误：{message}"),
        "in_view_points": _("当前视野内 {n} 位客户"),
        "in_view_cells": _("当前视野内 {n} 位客户（已按方格汇总）"),
        "saved": _("已保存"),
        "submitted": _("已提交审批"),
        "approved": _("已批准"),
        "rejected": _("已驳回"),
        "deleted": _("已删除"),
        "refresh_queued": _("已开始重新计算成员，稍后刷新查看"),
        "confirm_delete": _("确定删除客群“{name}”吗？"),
        "reject_prompt": _("请填写驳回原因"),
        "approve_prompt": _("审批意见（可选）"),
        "submit_prompt": _("提交说明（可选）"),
        "name_required": _("请填写客群名称"),
        "unsaved": _("有未保存的修改，放弃吗？"),
        "add_condition": _("添加条件"),
        "remove": _("删除"),
        "exclude": _("排除"),
        "match_all": _("满足全部条件"),
        "match_any": _("满足任一条件"),
        "no_conditions": _("没有条件：包含您管辖范围内的全部客户"),
        "nested_hint": _("此规则含嵌套条件组，请在“高级（JSON）”中编辑"),
        "json_invalid": _("JSON 格式有误"),
        "draw_polygon": _("在地图上画区域"),
        "redraw_polygon": _("重新画区域"),
        "drawing_hint": _("在地图上依次单击各个顶点，单击第一个顶点完成绘制"),
        "polygon_drawn": _("已画区域（{n} 个顶点）"),
        "no_polygon": _("尚未画区域"),
        "pick_grid": _("输入网格名称或编码搜索"),
        "no_grid_results": _("没有找到匹配的网格"),
        "grid_search_failed": _("无法搜索网格（可能没有网格查看权限）"),
        "metres": _("米"),
        "min_balance": _("最低余额（元，可选）"),
        "members": _("客户名单"),
        "no_members": _("暂无成员（保存后系统会计算成员）"),
        "approvals": _("审批记录"),
        "no_approvals": _("暂无审批记录"),
        "member_count": _("成员 {n} 位"),
        "refreshed_at": _("更新于 {time}"),
        "never_refreshed": _("尚未计算成员"),
        "owner": _("创建人"),
        "page_info": _("第 {page} / {pages} 页，共 {count} 条"),
        "action_submitted": _("提交审批"),
        "action_approved": _("批准"),
        "action_rejected": _("驳回"),
        "action_reopened": _("修改后退回草稿"),
        "from": _("从"),
        "to": _("至"),
        "value": _("取值"),
        "all_levels": _("任意层级"),
    }


def _fields() -> list[dict]:
    """The attribute fields of the condition builder, with their operators and value kinds."""
    ops = {
        "eq": _("等于"), "in": _("属于"), "between": _("介于"), "gte": _("不小于"), "lte": _("不大于"),
    }
    choice_fields = [
        ("kind", _("客户类型"), CustomerKind), ("status", _("客户状态"), CustomerStatus),
        ("archive_type", _("建档类型"), ArchiveType), ("gender", _("性别"), Gender), ("geocode_status", _("定位状态"), GeocodeStatus),
    ]
    fields = [
        {"value": name, "label": label, "type": "choice", "ops": ["eq", "in"], "choices": _choices(enum)}
        for name, label, enum in choice_fields
    ]
    fields += [
        {"value": "manager", "label": _("管户客户经理"), "type": "ref", "ops": ["eq", "in"], "source": "managers"},
        {"value": "institution_subtree", "label": _("所属机构（含下级）"), "type": "ref", "ops": ["eq", "in"], "source": "institutions"},
        {"value": "age", "label": _("年龄"), "type": "integer", "ops": ["eq", "between", "gte", "lte"], "min": 0, "max": 150},
        {"value": "birth_month", "label": _("生日月份"), "type": "integer", "ops": ["eq", "between", "in"], "min": 1, "max": 12},
        {"value": "created_at", "label": _("建立日期"), "type": "date", "ops": ["between", "gte", "lte", "eq"]},
    ]
    return [{**f, "label": str(f["label"]), "op_labels": {op: str(ops[op]) for op in f["ops"]}} for f in fields]


def segments_config(user) -> dict:
    """What segments.js needs: URLs, the user's rights, the builder's choice lists, map and strings."""
    lng, lat = settings.MAP_DEFAULT_CENTER
    scoped_institutions = Institution.objects.for_actor(user).filter(is_active=True).order_by("path")
    managers = (
        User.objects.for_actor(user).filter(is_active=True, roles__code=RoleCode.ACCOUNT_MANAGER).distinct().order_by("username")[:500]
    )
    return {
        "center": [lng, lat],
        "zoom": settings.MAP_DEFAULT_ZOOM,
        "me": user.pk,
        "urls": {
            "segments": reverse("crm_api:segment-list"),
            "count": reverse("crm_api:segment-count"),
            "preview": reverse("crm_api:segment-preview"),
            "grid_tree": reverse("grids_api:grid-tree"),
            # the districts as a faint offline basemap, for those who may see the home map
            "divisions": reverse("gis_core_api:division-list") if user.has_perm_code(MapPerm.MAP_VIEW) else "",
            "login": reverse("login"),
        },
        "can": {
            "edit": user.has_perm_code(Perm.SEGMENT_EDIT),
            "approve": user.has_perm_code(Perm.SEGMENT_APPROVE),
        },
        "condition_types": [
            {"value": "field", "label": _("客户属性")},
            {"value": "tag", "label": _("带有标签")},
            {"value": "tags_any", "label": _("带有任一标签")},
            {"value": "product", "label": _("持有产品")},
            {"value": "product_category", "label": _("持有某类产品")},
            {"value": "grid_subtree", "label": _("所在网格（含下级）")},
            {"value": "within_polygon", "label": _("位于画出的区域内")},
            {"value": "within_distance_of_outlet", "label": _("距网点一定距离内")},
            {"value": "import_batch", "label": _("来自导入批次")},
        ],
        "fields": _fields(),
        "tags": [{"value": t.code, "label": t.name} for t in Tag.objects.filter(is_active=True).order_by("category", "code")],
        "products": [{"value": p.code, "label": p.name} for p in Product.objects.filter(is_active=True).order_by("category", "code")],
        "product_categories": _choices(ProductCategory),
        "institutions": [{"value": i.pk, "label": i.name} for i in scoped_institutions],
        "outlets": [{"value": i.pk, "label": i.name} for i in scoped_institutions if i.location is not None],
        "managers": [{"value": u.pk, "label": str(u)} for u in managers],
        "visibilities": _choices(Visibility),
        "statuses": _choices(ApprovalStatus),
        "strings": _strings(),
    }


@login_required
def segments_page(request):
    """客群管理: segments the user may see, the editor and the map preview."""
    if not request.user.has_perm_code(Perm.SEGMENT_VIEW):
        raise PermissionDenied
    config = segments_config(request.user)
    return render(request, "crm/segments.html", {"segments_config": config, "can": config["can"]})
