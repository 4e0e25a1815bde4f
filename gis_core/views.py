"""Pages of gis_core: the home map (GC-5 keyword search, GC-6 offline-first basemap).

Pages are thin: they check the declared permission, hand the page its configuration through
`json_script` and let a small ES module draw the map from the places API.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

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
        raise PermissionDenied
    return render(request, "gis_core/home.html", {"map_config": _home_map_config()})
