"""The navigation menu, by permission (ORG-2 "menus"). Apps add entries as their pages arrive."""
from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from gis_core.permissions import Perm


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    permission: str | None
    icon: str = ""


MENU: list[MenuItem] = [
    MenuItem(_("首页地图"), "home", Perm.MAP_VIEW, "map"),
    # grids.permissions.Perm.GRID_VIEW_SUBTREE, spelled as its value so that gis_core imports no app
    MenuItem(_("网格管理"), "grid-editor", "grids.grid.view_subtree", "dot"),
    MenuItem(_("名单导入"), "crm-imports", "crm.customer.import", "dot"),  # crm.permissions.Perm.CUSTOMER_IMPORT
    MenuItem(_("客群管理"), "crm-segments", "crm.segment.view", "dot"),  # crm.permissions.Perm.SEGMENT_VIEW
    MenuItem(_("机构管理"), "institutions", Perm.INSTITUTION_VIEW, "org"),
    MenuItem(_("用户管理"), "users", Perm.USER_VIEW, "users"),
    MenuItem(_("审计日志"), "audit", Perm.AUDIT_VIEW, "audit"),
    MenuItem(_("参数设置"), "org-settings", Perm.DICTIONARY_VIEW, "settings"),
    MenuItem(_("接口文档"), "swagger-ui", Perm.MAP_VIEW, "api"),
    MenuItem(_("后台管理"), "admin:index", Perm.BACK_OFFICE, "admin"),
]


def menu_for(user) -> list[dict]:
    items = []
    for item in MENU:
        if item.permission is not None and not user.has_perm_code(item.permission):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": str(item.label), "url": url, "icon": item.icon})
    return items
