"""Pages of grids: the grid editor for branch managers (issue 3 item 9, GR-4).

The page is thin, like every page of the platform: it checks the declared permission, hands the
editor its configuration (API URLs, what the user may do, the choice lists, the map colours and
every UI string in the page language) through `json_script`, and leaves the work to ES modules that
talk to the grids REST API. Nothing is read or written here that the API would not check again.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from gis_core.crs import CRS
from gis_core.permissions import Perm as MapPerm
from grids import fileio
from grids.choices import LEVEL_ORDER, BusinessLine, GridKind, GridPost, HistoryAction, VirtualType
from grids.map_style import LEVEL_COLOURS, VIRTUAL_TYPE_COLOURS
from grids.permissions import Perm

EXPORT_FORMATS = [
    (fileio.FORMAT_GEOJSON, "GeoJSON"),
    (fileio.FORMAT_SHAPEFILE, "Shapefile (zip)"),
    (fileio.FORMAT_KML, "KML"),
    (fileio.FORMAT_GPKG, "GeoPackage"),
]


def _strings() -> dict[str, str]:
    """Every string editor.js shows, translated into the page language."""
    return {
        "load_failed": _("加载失败，请稍后重试"),
        "network_error": _("网络异常，请检查网络后重试"),
        "server_error": _("服务器出错，请稍后重试"),
        "forbidden": _("没有执行此操作的权限"),
        "not_found": _("网格不存在或不在您的管辖范围内"),
        "conflict": _("已被他人修改"),
        "conflict_hint": _("该网格已被他人修改，请重新加载最新版本后再编辑。"),
        "reload": _("重新加载"),
        "saved": _("已保存"),
        "created": _("已新建网格「{name}」"),
        "retired": _("已撤销网格「{name}」"),
        "split_done": _("已拆分为 {n} 个网格"),
        "merged": _("已合并为「{name}」"),
        "imported": _("已导入 {n} 个网格"),
        "assigned": _("已指定责任人"),
        "transferred": _("已完成移交"),
        "no_children": _("没有下级网格"),
        "no_results": _("没有找到匹配的网格"),
        "select_grid": _("在左侧目录或地图上选择一个网格"),
        "new_grid": _("新网格"),
        "drawing_hint": _("在地图上依次单击各个顶点，单击第一个顶点（或按回车）完成绘制；靠近相邻网格边界时会自动吸附。"),
        "editing_hint": _("拖动顶点修改边界，拖动边的中点可增加顶点；靠近相邻网格边界时会自动吸附。"),
        "split_hint": _("画一条穿过所选网格的分割线：依次单击，双击或再次单击最后一点结束。"),
        "merge_hint": _("在地图上再单击一个相邻的同级网格，与当前网格合并。"),
        "checking": _("正在检查边界…"),
        "no_problems": _("边界检查通过，可以保存"),
        "problems_found": _("发现 {n} 个问题，修正后才能保存"),
        "fix_problems": _("请先修正边界问题"),
        "required": _("请填写网格编码和名称"),
        "need_parent": _("请先在左侧选择上级网格"),
        "no_child_level": _("「{name}」已是最低层级，不能再划分下级网格"),
        "confirm_retire": _("确定撤销网格「{name}」吗？撤销后其当前分派将结束。"),
        "confirm_split": _("将「{name}」按画出的线拆分吗？"),
        "confirm_merge": _("将「{a}」与「{b}」合并吗？合并后「{b}」将被撤销。"),
        "merge_pick_other": _("请选择另一个网格"),
        "reason_prompt": _("变更原因（可选）"),
        "reauth_title": _("请再次输入密码"),
        "reauth_text": _("这是一项敏感操作，请输入您的登录密码确认身份。"),
        "reauth_failed": _("密码错误"),
        "password": _("密码"),
        "confirm": _("确定"),
        "cancel": _("取消"),
        "close": _("关闭"),
        "version": _("版本"),
        "area": _("面积"),
        "km2": _("平方公里"),
        "m2": _("平方米"),
        "status": _("状态"),
        "retired_status": _("已撤销"),
        "no_history": _("暂无变更记录"),
        "no_manager": _("未指定"),
        "pick_manager": _("请选择客户经理"),
        "same_manager": _("接收人与当前责任人相同"),
        "transfer_needs_manager": _("当前没有责任人，请先指定责任人"),
        "import_pick_file": _("请选择要导入的文件"),
        "import_problem": _("第 {n} 个要素：{message}"),
        "virtual_mode_on": _("虚拟网格"),
        "physical_mode_on": _("实体网格"),
        "level": _("层级"),
        "virtual_type": _("虚拟网格类型"),
        "parent": _("上级网格"),
        "top_level": _("（顶级）"),
        "problem_location": _("问题位置"),
        "problem_area": _("重叠区域"),
        "overlap_with": _("与「{name}」重叠 {area} 平方米"),
        "unsaved": _("有未保存的修改"),
        "discard_changes": _("放弃未保存的修改吗？"),
        "children_of": _("「{name}」的下级网格"),
        "virtual_grids": _("虚拟网格"),
        "by_actor": _("{actor} · {time}"),
        "system": _("系统"),
    }


def editor_config(user) -> dict:
    """What editor.js needs: centre, API URLs, the user's rights, choice lists, colours and strings."""
    lng, lat = settings.MAP_DEFAULT_CENTER
    return {
        "center": [lng, lat],
        "zoom": settings.MAP_DEFAULT_ZOOM,
        "urls": {
            "api": reverse("grids_api:grid-list"),
            "reauth": reverse("gis_core_api:auth-reauth"),
            "users": reverse("gis_core_api:user-list"),
            "login": reverse("login"),
            # the districts as a faint offline basemap, for those who may see the home map
            "divisions": reverse("gis_core_api:division-list") if user.has_perm_code(MapPerm.MAP_VIEW)
            else "",
        },
        "can": {
            "edit": user.has_perm_code(Perm.GRID_EDIT),
            "assign": user.has_perm_code(Perm.GRID_ASSIGN),
            "export": user.has_perm_code(Perm.GRID_EXPORT),
        },
        "institution": user.institution_id,
        "kinds": {k.value: str(k.label) for k in GridKind},
        "levels": [
            {"value": level.value, "label": str(level.label), "colour": LEVEL_COLOURS[level]}
            for level in LEVEL_ORDER
        ],
        "virtual_types": [
            {"value": t.value, "label": str(t.label), "colour": VIRTUAL_TYPE_COLOURS[t]} for t in VirtualType
        ],
        "business_lines": [{"value": b.value, "label": str(b.label)} for b in BusinessLine],
        "posts": {p.value: str(p.label) for p in GridPost},
        "history_actions": {a.value: str(a.label) for a in HistoryAction},
        "crs": [
            {"value": CRS.WGS84.value, "label": _("WGS-84（GPS）")},
            {"value": CRS.GCJ02.value, "label": _("GCJ-02（高德、腾讯）")},
            {"value": CRS.BD09.value, "label": _("BD-09（百度）")},
        ],
        "export_formats": [{"value": value, "label": label} for value, label in EXPORT_FORMATS],
        "snap_pixels": 12,
        "strings": _strings(),
    }


@login_required
def grid_editor(request):
    """The grid editor: hierarchy tree, map with drawing tools, attributes, assignment and history.

    Readers with GRID_VIEW_SUBTREE see it read-only; GRID_EDIT adds the drawing tools."""
    if not request.user.has_perm_code(Perm.GRID_VIEW_SUBTREE):
        raise PermissionDenied
    config = editor_config(request.user)
    return render(
        request, "grids/editor.html", {"editor_config": config, "can": config["can"], "choices": config}
    )
