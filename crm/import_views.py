"""The list-import page (名单导入, CR-3): batches with search, upload, preview, commit and progress.

Thin like every page: it checks the declared permission and hands the ES module
(crm/static/crm/imports.js) its API URLs, choice lists and strings in the page language; every read
and write goes through the REST API of crm.api.imports, which checks everything again.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.choices import ImportMode, ImportStatus
from crm.permissions import Perm
from gis_core.crs import CRS


def _strings() -> dict[str, str]:
    return {
        "load_failed": _("加载失败，请稍后重试"),
        "network_error": _("网络异常，请检查网络后重试"),
        "empty": _("暂无数据"),
        "no_errors": _("没有错误行"),
        "page_info": _("第 {page} / {pages} 页，共 {count} 条"),
        "uploading": _("正在上传并校验，请稍候…"),
        "uploaded": _("校验完成：共 {total} 行，正确 {valid} 行，有误 {invalid} 行"),
        "choose_file": _("请选择要上传的文件"),
        "choose_template": _("请选择名单模板"),
        "name_required": _("请填写批次名称"),
        "confirm_commit": _("确定以“{mode}”方式提交吗？提交后不能撤回。"),
        "committed": _("已提交 {n} 位客户，正在后台定位并划入网格"),
        "done": _("已完成：{n} 位客户已定位并划入网格"),
        "failed": _("后台定位失败，请联系管理员"),
        "accept_none": _("请先勾选要提交的行"),
        "accepted_count": _("已选 {n} 行"),
        "saved_segment": _("已保存为客群“{name}”（{n} 位客户）"),
        "discarded": _("已放弃该批次"),
        "confirm_discard": _("确定放弃该批次吗？暂存的数据将被删除。"),
        "row": _("行号"),
        "status": _("状态"),
        "valid": _("正确"),
        "invalid": _("有误"),
        "progress": _("定位进度"),
        "ignored_columns": _("以下列不在模板中，已忽略：{names}"),
    }


@login_required
def imports_page(request):
    """名单导入: the batches of the actor's scope, the upload form and the preview of one batch."""
    if not request.user.has_perm_code(Perm.CUSTOMER_IMPORT):
        raise PermissionDenied
    config = {
        "urls": {
            "templates": reverse("crm_api:list-template-list"),
            "imports": reverse("crm_api:import-list"),
        },
        "crs": [
            {"value": CRS.WGS84.value, "label": _("WGS-84（GPS、天地图）")},
            {"value": CRS.GCJ02.value, "label": _("GCJ-02（高德、腾讯）")},
            {"value": CRS.BD09.value, "label": _("BD-09（百度）")},
        ],
        "modes": [{"value": m.value, "label": str(m.label)} for m in ImportMode],
        "statuses": {s.value: str(s.label) for s in ImportStatus},
        "poll_ms": 1500,
        "strings": _strings(),
    }
    return render(request, "crm/imports.html", {"page_config": config})
