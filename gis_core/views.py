"""Pages of gis_core: the home map (GC-5 keyword search, GC-6 offline-first basemap) and the
back-office pages (ORG-1, ORG-2, ORG-5, ORG-6, ORG-7).

Pages are thin: they check the declared permission, hand the page its configuration through
`json_script` and let a small ES module draw the map from the places API.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from gis_core.choices import DivisionLevel
from gis_core.map_style import DISTRICT_PALETTE, poi_category_legend
from gis_core.permissions import Perm


def _home_map_config() -> dict:
    """What home-map.js needs: centre, API URLs, legend, and its UI strings in the page language."""
    lng, lat = settings.MAP_DEFAULT_CENTER
    return {
        "center": [lng, lat],
        "zoom": settings.MAP_DEFAULT_ZOOM,
        "urls": {
            "divisions": reverse("gis_core_api:division-list"),
            "pois": reverse("gis_core_api:poi-list"),
            "search": reverse("gis_core_api:place-search"),
        },
        "poi_categories": poi_category_legend(),
        "district_palette": DISTRICT_PALETTE,
        "levels": {level.value: str(level.label) for level in DivisionLevel},
        "strings": {
            "code": _("代码"),
            "category": _("类别"),
            "level": _("层级"),
            "division": _("所属区划"),
            "area": _("面积"),
            "km2": _("平方公里"),
            "synthetic": _("示意边界（非官方测绘）"),
            "no_results": _("没有找到匹配的区划或兴趣点"),
            "load_failed": _("图层加载失败，请稍后重试"),
            "pois_capped": _("当前视野内兴趣点过多，仅显示前 {n} 个，请放大地图查看更多"),
            "pois_count": _("视野内兴趣点 {n} 个"),
            "pois_zoom_in": _("放大到 {z} 级以上显示兴趣点"),
            "attribution": _("行政区划与兴趣点：平台离线数据"),
        },
    }


@login_required
def home(request):
    """The home map: districts, streets, communities and POIs on the platform's own offline layers."""
    if not request.user.has_perm_code(Perm.MAP_VIEW):
        # Roles without the map (the auditor) start at their first menu page instead of a 403.
        from gis_core.navigation import menu_for

        first = next((item["url"] for item in menu_for(request.user) if item["url"] != request.path), None)
        if first is None:
            raise PermissionDenied
        return redirect(first)
    return render(request, "gis_core/home.html", {"map_config": _home_map_config()})


# --- back-office pages: institutions, users, audit log, settings (ORG-1, ORG-2, ORG-5, ORG-6, ORG-7) ---
# Each page is an empty frame plus a small ES module (gis_core/static/gis_core/org/) that reads and
# writes through the organisation API; the page only decides who may open it and hands the module
# its URLs, the actor's rights and its strings.


def _require(request, code: str) -> None:
    if not request.user.has_perm_code(code):
        raise PermissionDenied


def _org_common_config() -> dict:
    """What every back-office module needs: the shared API URLs, display time zone, common strings."""
    return {
        "time_zone": settings.TIME_ZONE,
        "urls": {"reauth": reverse("gis_core_api:auth-reauth")},
        "strings": {
            "load_failed": _("加载失败，请稍后重试"),
            "network_error": _("网络异常，请检查网络后重试"),
            "saved": _("已保存"),
            "empty": _("暂无数据"),
            "loading": _("加载中…"),
            "yes": _("是"),
            "no": _("否"),
            "active": _("启用"),
            "inactive": _("停用"),
            "page_info": _("第 {page} / {pages} 页，共 {count} 条"),
            "copied": _("已复制"),
        },
    }


def _org_page(request, template: str, config: dict) -> HttpResponse:
    common = _org_common_config()
    config = {**common, **config, "urls": {**common["urls"], **config.get("urls", {})}}
    config["strings"] = {**common["strings"], **config.get("strings", {})}
    return render(request, template, {"page_config": config})


def _role_choices() -> list[dict]:
    from gis_core.choices import RoleCode

    return [{"value": role.value, "label": str(role.label)} for role in RoleCode]


@login_required
def institutions(request):
    """ORG-1: the institution tree of the actor's scope, a detail panel with a small map and, for
    managers, adding a child institution and editing or deactivating one."""
    from gis_core.choices import INSTITUTION_CHILD_KINDS, InstitutionKind

    _require(request, Perm.INSTITUTION_VIEW)
    user = request.user
    lng, lat = settings.MAP_DEFAULT_CENTER
    return _org_page(
        request,
        "gis_core/org/institutions.html",
        {
            "can_manage": user.has_perm_code(Perm.INSTITUTION_MANAGE),
            "can_view_map": user.has_perm_code(Perm.MAP_VIEW),
            "own_institution": user.institution_id,
            "center": [lng, lat],
            "kinds": {kind.value: str(kind.label) for kind in InstitutionKind},
            "child_kinds": {str(k): sorted(str(c) for c in v) for k, v in INSTITUTION_CHILD_KINDS.items()},
            "urls": {
                "institutions": reverse("gis_core_api:institution-list"),
                "divisions": reverse("gis_core_api:division-list"),
            },
            "strings": {
                "add_child": _("新增下级机构"),
                "edit": _("编辑机构"),
                "deactivate": pgettext("action", "停用"),
                "activate": pgettext("action", "启用"),
                "confirm_deactivate": _("确定停用机构“{name}”吗？停用后该机构不能再分配新的业务。"),
                "confirm_activate": _("确定重新启用机构“{name}”吗？"),
                "deactivated": _("机构已停用"),
                "activated": _("机构已启用"),
                "created": _("机构已创建"),
                "no_location": _("未标注位置"),
                "no_match": _("没有匹配的机构"),
                "no_children": _("没有下级机构"),
                "pick_hint": _("在地图上点击以标注机构位置"),
                "no_child_kind": _("该机构类型下不能再设下级机构"),
            },
        },
    )


@login_required
def users(request):
    """ORG-2: users of the actor's scope with filters and, for managers, create, edit, deactivate,
    change roles (after re-authentication) and reset passwords."""
    _require(request, Perm.USER_VIEW)
    return _org_page(
        request,
        "gis_core/org/users.html",
        {
            "can_manage": request.user.has_perm_code(Perm.USER_MANAGE),
            "self_id": request.user.pk,
            "roles": _role_choices(),
            "urls": {
                "users": reverse("gis_core_api:user-list"),
                "institutions": reverse("gis_core_api:institution-list"),
            },
            "strings": {
                "create": _("新增用户"),
                "edit": _("编辑用户"),
                "edit_short": _("编辑"),
                "roles": _("角色"),
                "reset_password": _("重置密码"),
                "deactivate": pgettext("action", "停用"),
                "activate": pgettext("action", "启用"),
                "locked": _("已锁定"),
                "never": _("从未登录"),
                "created": _("用户已创建"),
                "roles_saved": _("角色已更新"),
                "confirm_deactivate": _("确定停用用户“{name}”吗？停用后该用户不能登录。"),
                "confirm_activate": _("确定重新启用用户“{name}”吗？"),
                "confirm_reset": _("确定为用户“{name}”重置密码吗？该用户的会话和接口令牌将全部失效。"),
                "initial_password_title": _("初始密码"),
                "reset_password_title": _("临时密码"),
                "password_once": _("请将密码安全地告知“{name}”。密码只显示这一次，首次登录时须修改。"),
                "all_institutions": _("全部机构"),
                "phone_keep": _("留空则不修改（当前：{phone}）"),
            },
        },
    )


def _audit_action_prefixes() -> list[dict]:
    return [
        {"value": "gis_core.auth.login", "label": _("登录")},
        {"value": "gis_core.auth.", "label": _("登录与认证")},
        {"value": "gis_core.user.", "label": _("用户管理")},
        {"value": "gis_core.institution.", "label": _("机构管理")},
        {"value": "gis_core.dictionary.", "label": _("数据字典")},
        {"value": "gis_core.calendar.", "label": _("工作日历")},
        {"value": "gis_core.audit.", "label": _("审计日志")},
        {"value": "grids.", "label": _("网格业务")},
        {"value": "crm.", "label": _("客户业务")},
    ]


@login_required
def audit(request):
    """ORG-6: search the audit trail of the actor's subtree, read an entry's data, export as CSV."""
    from gis_core.choices import AuditResult

    _require(request, Perm.AUDIT_VIEW)
    return _org_page(
        request,
        "gis_core/org/audit.html",
        {
            "can_export": request.user.has_perm_code(Perm.AUDIT_EXPORT),
            "results": {result.value: str(result.label) for result in AuditResult},
            "action_prefixes": [{"value": p["value"], "label": str(p["label"])} for p in _audit_action_prefixes()],
            "urls": {
                "audit": reverse("gis_core_api:audit-list"),
                "export": reverse("gis_core_api:audit-export"),
            },
            "strings": {"system": _("系统")},
        },
    )


@login_required
def org_settings(request):
    """ORG-5 and ORG-7: the code tables (dictionaries) and the working-day calendar."""
    _require(request, Perm.DICTIONARY_VIEW)
    user = request.user
    return _org_page(
        request,
        "gis_core/org/settings.html",
        {
            "can_manage_dictionaries": user.has_perm_code(Perm.DICTIONARY_MANAGE),
            "can_view_calendar": user.has_perm_code(Perm.CALENDAR_VIEW),
            "can_manage_calendar": user.has_perm_code(Perm.CALENDAR_MANAGE),
            "urls": {
                "dictionaries": reverse("gis_core_api:dictionary-list"),
                "calendar": reverse("gis_core_api:calendar"),
            },
            "strings": {
                "weekdays": [_("一"), _("二"), _("三"), _("四"), _("五"), _("六"), _("日")],
                "month_title": _("{year} 年 {month} 月"),
                "workday": _("工作日"),
                "holiday": _("休息日"),
                "override_workday": _("调休上班"),
                "override_holiday": _("节假日"),
                "system": _("系统内置"),
                "items_count": _("{n} 项"),
                "no_dictionary": _("请选择左侧的字典"),
                "dictionary_draft": _("请添加码值后保存新字典"),
                "unsaved": _("当前字典有未保存的修改，确定放弃吗？"),
                "remove": _("删除"),
                "day_saved": _("{date} 已设为{status}"),
            },
        },
    )
