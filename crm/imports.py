"""List templates and list imports (名单模板与名单导入, CR-3; SEC-5, SEC-6, SEC-10).

Why this module exists
----------------------
Branch managers bring customers in as spreadsheets. A *list template* says which columns a file has,
how each is validated and which customer (or archive) field it fills. An *import* is one uploaded
file: checked by content (``crm.import_files``), parsed streaming, every cell validated, duplicates
found inside the file and against the institution's existing customers, staged as ``ImportRow``
rows, previewed, then committed in ONE transaction in one of three modes (all or nothing, the valid
rows, exactly the rows the user accepted). After commit a Celery job geocodes the new customers and
places them into grids with one call of ``grids.membership.points_place``.

Speed: a 100,000-row file is staged with ``COPY`` and committed with set-based SQL (``INSERT …
SELECT`` from the staged rows, customer ids drawn from the sequence beforehand so each staged row
knows its customer); see ``bench/bench_import.py``.

Privacy: ID numbers and phones are sensitive even while staged, so the staged cells holding them are
SM4-encrypted like the customer fields (the very ciphertext is copied into the customer row on
commit); previews show them masked; only the operator's error file shows them in clear, and
exporting it is audited.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, NOT_PROVIDED
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.choices import (
    CustomerKind,
    CustomerStatus,
    FieldType,
    GeocodeStatus,
    IdType,
    ImportMode,
    ImportStatus,
)
from crm.import_files import (
    InspectedFile,
    cell_text,
    data_rows_exceed,
    escape_cell,
    file_inspect,
    iter_rows,
    write_rows_xlsx,
)
from crm.models import Archive, ArchiveTemplate, Customer, CustomerTag, ImportBatch, ImportRow, ListTemplate, Segment, Tag
from gis_core import crypto
from gis_core.audit import audit_log
from gis_core.crs import CRS, UnknownCRSError, convert_point, out_of_china, parse_crs
from gis_core.errors import Conflict, ValidationFailed
from gis_core.models import Institution, User
from gis_core.validators import mobile_valid, resident_id_birth_and_gender, resident_id_problem

DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024
STAGE_CHUNK = 5000
GEOCODE_CHUNK = 5000
LOW_CONFIDENCE = 0.6
DEFAULT_TEMPLATE_NAME = "个人客户名单"
MAX_COLUMNS = 60

# Customer fields a column may fill (``maps_to``), with the column types that make sense for each.
CUSTOMER_TARGETS: dict[str, set[str]] = {
    "name": {FieldType.TEXT},
    "id_type": {FieldType.CHOICE, FieldType.TEXT},
    "id_number": {FieldType.ID_NUMBER, FieldType.TEXT},
    "phone": {FieldType.PHONE, FieldType.TEXT},
    "address": {FieldType.ADDRESS, FieldType.TEXT},
    "lng": {FieldType.LNG, FieldType.DECIMAL},
    "lat": {FieldType.LAT, FieldType.DECIMAL},
    "status": {FieldType.CHOICE, FieldType.TEXT},
    "kind": {FieldType.CHOICE, FieldType.TEXT},
    "manager_employee_no": {FieldType.TEXT},
    "tags": {FieldType.MULTI_CHOICE, FieldType.CHOICE, FieldType.TEXT},
}
ARCHIVE_PREFIX = "archive."
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SPLIT_RE = re.compile(r"[,，;；、|/]+")
_CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_OTHER_ID_RE = re.compile(r"^[A-Z0-9()（）-]{5,32}$")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TRUE = {"是", "y", "yes", "true", "1", "√", "有"}
_FALSE = {"否", "n", "no", "false", "0", "×", "无"}
# Geocoder levels coarser than a community do not place a customer well enough (→ low_confidence).
_FINE_ENOUGH_RANK = 4


def max_rows() -> int:
    return int(getattr(settings, "CRM_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_file_bytes() -> int:
    return int(getattr(settings, "CRM_IMPORT_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES))


# ==================================================================================================
# Choice lists of the customer enums: labels (Chinese and English), values and common short forms.
# ==================================================================================================

_ENUM_OF_TARGET = {"id_type": IdType, "status": CustomerStatus, "kind": CustomerKind}
_ALIASES = {
    "id_type": {"身份证": IdType.RESIDENT_ID, "二代身份证": IdType.RESIDENT_ID, "居民身份证号": IdType.RESIDENT_ID,
                "信用代码": IdType.CREDIT_CODE, "营业执照": IdType.CREDIT_CODE},
    "status": {"正式": CustomerStatus.FORMAL, "潜在": CustomerStatus.POTENTIAL},
    "kind": {"个人": CustomerKind.INDIVIDUAL, "对公": CustomerKind.CORPORATE, "企业": CustomerKind.CORPORATE,
             "公司": CustomerKind.CORPORATE},
}


def _chinese_labels(enum) -> list[str]:
    with translation.override("zh-hans"):
        return [str(label) for value, label in enum.choices if value]


def _enum_lookup(target: str) -> dict[str, str]:
    """Every spelling of the enum's members (value, Chinese and English label, alias) → value."""
    enum = _ENUM_OF_TARGET[target]
    lookup: dict[str, str] = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for value, label in enum.choices:
                if value:
                    lookup[str(label).strip().lower()] = value
    for value in enum.values:
        if value:
            lookup[value.lower()] = value
    for alias, value in _ALIASES.get(target, {}).items():
        lookup[alias.lower()] = str(value)
    return lookup


# ==================================================================================================
# Templates
# ==================================================================================================

def _column_error(index: int, message: str) -> ValidationFailed:
    return ValidationFailed(_("列定义有误"), code="template_columns_invalid", details={"columns": {str(index): [message]}})


def _number_or_none(value: Any, index: int, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _column_error(index, _("%(name)s 应为数字") % {"name": name})
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise _column_error(index, _("%(name)s 应为数字") % {"name": name}) from None


def list_template_columns_clean(*, columns: Any, archive_type: str = "") -> list[dict[str, Any]]:
    """The canonical form of a template's columns, or ValidationFailed (``template_columns_invalid``,
    details per column index). Rules: unique keys and labels, a known type, choices exactly for
    choice columns, a valid regular expression, min ≤ max, each customer field filled at most once,
    a name column, lng and lat together, archive fields only with an archive type."""
    if not isinstance(columns, list) or not columns:
        raise ValidationFailed(_("模板至少需要一列"), code="template_columns_invalid")
    if len(columns) > MAX_COLUMNS:
        raise ValidationFailed(_("模板最多 %(n)d 列") % {"n": MAX_COLUMNS}, code="template_columns_invalid")
    cleaned: list[dict[str, Any]] = []
    keys: set[str] = set()
    labels: set[str] = set()
    targets: set[str] = set()
    for index, column in enumerate(columns):
        if not isinstance(column, dict):
            raise _column_error(index, _("列定义应为对象"))
        key = str(column.get("key") or "").strip()
        label = str(column.get("label") or "").strip().lstrip("*").strip()
        kind = str(column.get("type") or FieldType.TEXT)
        if not _KEY_RE.match(key):
            raise _column_error(index, _("字段键只能由小写字母、数字和下划线组成，以字母开头，最长32位"))
        if key in keys:
            raise _column_error(index, _("字段键重复：%(key)s") % {"key": key})
        if not label or len(label) > 50:
            raise _column_error(index, _("列名不能为空，且不超过50个字符"))
        if label in labels:
            raise _column_error(index, _("列名重复：%(label)s") % {"label": label})
        if kind not in FieldType.values:
            raise _column_error(index, _("未知的字段类型：%(type)s") % {"type": kind})
        maps_to = str(column.get("maps_to") or "").strip()
        if maps_to.startswith("customer."):
            maps_to = maps_to[len("customer."):]
        if maps_to:
            if maps_to.startswith(ARCHIVE_PREFIX):
                if not _KEY_RE.match(maps_to[len(ARCHIVE_PREFIX):]):
                    raise _column_error(index, _("建档字段键无效：%(key)s") % {"key": maps_to})
                if not archive_type:
                    raise _column_error(index, _("映射到建档字段的模板须指定建档类型"))
            elif maps_to not in CUSTOMER_TARGETS:
                raise _column_error(index, _("未知的映射字段：%(field)s") % {"field": maps_to})
            elif kind not in CUSTOMER_TARGETS[maps_to]:
                raise _column_error(index, _("字段类型与映射字段不匹配：%(field)s") % {"field": maps_to})
            if maps_to in targets:
                raise _column_error(index, _("映射字段重复：%(field)s") % {"field": maps_to})
            targets.add(maps_to)
        max_length = column.get("max_length")
        if max_length not in (None, ""):
            if isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= 1000:
                raise _column_error(index, _("最大长度应为1到1000之间的整数"))
        else:
            max_length = None
        low = _number_or_none(column.get("min"), index, "min")
        high = _number_or_none(column.get("max"), index, "max")
        if (low is not None or high is not None) and kind not in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.LNG, FieldType.LAT):
            raise _column_error(index, _("只有数字列可以设置最小值和最大值"))
        if low is not None and high is not None and low > high:
            raise _column_error(index, _("最小值不能大于最大值"))
        regex = str(column.get("regex") or "")
        if regex:
            if len(regex) > 200:
                raise _column_error(index, _("正则表达式过长"))
            try:
                re.compile(regex)
            except re.error:
                raise _column_error(index, _("正则表达式无效")) from None
        choices = column.get("choices") or []
        if not isinstance(choices, list) or any(not isinstance(c, str) or not c.strip() or len(c) > 50 for c in choices):
            raise _column_error(index, _("可选值应为不超过50个字符的文本列表"))
        choices = [c.strip() for c in choices]
        if len(set(choices)) != len(choices) or len(choices) > 200:
            raise _column_error(index, _("可选值不能重复，且不超过200个"))
        if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
            if not choices and maps_to in _ENUM_OF_TARGET:
                choices = _chinese_labels(_ENUM_OF_TARGET[maps_to])
            if not choices and maps_to != "tags":
                raise _column_error(index, _("单选或多选列须列出可选值"))
            if maps_to in _ENUM_OF_TARGET:
                lookup = _enum_lookup(maps_to)
                unknown = [c for c in choices if c.lower() not in lookup]
                if unknown:
                    raise _column_error(index, _("可选值不在系统选项中：%(values)s") % {"values": "、".join(unknown)})
        elif choices:
            raise _column_error(index, _("只有单选或多选列可以设置可选值"))
        cleaned.append(
            {
                "key": key, "label": label, "type": kind, "required": bool(column.get("required", False)),
                "max_length": max_length, "min": low, "max": high, "regex": regex, "choices": choices,
                "maps_to": maps_to,
            }
        )
        keys.add(key)
        labels.add(label)
    if "name" not in targets:
        raise ValidationFailed(_("模板须有一列映射到客户名称（name）"), code="template_columns_invalid")
    if ("lng" in targets) != ("lat" in targets):
        raise ValidationFailed(_("经度列和纬度列须同时设置"), code="template_columns_invalid")
    return cleaned


def default_template_columns() -> list[dict[str, Any]]:
    """The columns of the default template 个人客户名单 (always in Chinese, whoever seeds it)."""
    return list_template_columns_clean(
        columns=[
            {"key": "name", "label": "姓名", "type": "text", "required": True, "max_length": 100, "maps_to": "name"},
            {"key": "id_type", "label": "证件类型", "type": "choice", "choices": _chinese_labels(IdType), "maps_to": "id_type"},
            {"key": "id_number", "label": "证件号码", "type": "id_number", "required": True, "max_length": 32, "maps_to": "id_number"},
            {"key": "phone", "label": "手机号", "type": "phone", "maps_to": "phone"},
            {"key": "address", "label": "地址", "type": "address", "required": True, "max_length": 255, "maps_to": "address"},
            {"key": "manager_employee_no", "label": "客户经理工号", "type": "text", "max_length": 32, "maps_to": "manager_employee_no"},
            {"key": "remark", "label": "备注", "type": "text", "max_length": 200, "maps_to": ""},
        ]
    )


def _root_institution(institution: Institution) -> Institution:
    root_id = int(institution.path.strip("/").split("/")[0])
    return institution if root_id == institution.pk else Institution.objects.get(pk=root_id)


@transaction.atomic
def list_template_default_ensure(*, institution: Institution) -> ListTemplate:
    """The bank-wide default template 个人客户名单, created on first use at the root of the
    institution's tree (so every branch sees it). Safe under concurrency (advisory lock)."""
    root = _root_institution(institution)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('crm.list_template.default'), %s)", [root.pk])
    existing = ListTemplate.objects.filter(institution=root, name=DEFAULT_TEMPLATE_NAME, created_by__isnull=True).first()
    if existing is not None:
        return existing
    template = ListTemplate.objects.create(
        name=DEFAULT_TEMPLATE_NAME,
        description="系统默认模板：个人客户的姓名、证件、手机号、地址与管户客户经理",
        customer_kind=CustomerKind.INDIVIDUAL,
        customer_status=CustomerStatus.POTENTIAL,
        columns=default_template_columns(),
        institution=root,
        created_by=None,
    )
    audit_log(actor=None, action="crm.list_template.default_created", obj=template, data={"institution": root.code})
    return template


@transaction.atomic
def list_template_create(
    *,
    actor: User,
    name: str,
    columns: list[dict[str, Any]],
    description: str = "",
    customer_kind: str = CustomerKind.INDIVIDUAL,
    customer_status: str = CustomerStatus.POTENTIAL,
    archive_type: str = "",
    institution: Institution | None = None,
) -> ListTemplate:
    """A new list template owned by the actor's institution (or one in the actor's scope)."""
    cleaned = list_template_columns_clean(columns=columns, archive_type=archive_type)
    template = ListTemplate.objects.create(
        name=name, description=description, customer_kind=customer_kind, customer_status=customer_status,
        archive_type=archive_type, columns=cleaned, institution=institution or actor.institution, created_by=actor,
    )
    audit_log(actor=actor, action="crm.list_template.created", obj=template, data={"columns": len(cleaned)})
    return template


@transaction.atomic
def list_template_update(*, actor: User, template: ListTemplate, **changes: Any) -> ListTemplate:
    """Change a template. Its columns (and what they map to) cannot change once a file was uploaded
    with it — staged rows refer to them — so that answers 409 ``template_in_use``: copy it instead."""
    template = ListTemplate.objects.select_for_update().get(pk=template.pk)
    allowed = {"name", "description", "customer_kind", "customer_status", "archive_type", "columns", "is_active"}
    changes = {k: v for k, v in changes.items() if k in allowed}
    structural = {"columns", "archive_type", "customer_kind"} & set(changes)
    if structural and template.batches.exists():
        if any(changes[k] != getattr(template, k) for k in structural if k != "columns") or (
            "columns" in changes
            and list_template_columns_clean(columns=changes["columns"], archive_type=changes.get("archive_type", template.archive_type))
            != template.columns
        ):
            raise Conflict(_("该模板已用于导入，不能再修改列定义，请另建模板"), code="template_in_use")
    if "columns" in changes or "archive_type" in changes:
        changes["columns"] = list_template_columns_clean(
            columns=changes.get("columns", template.columns), archive_type=changes.get("archive_type", template.archive_type)
        )
    for key, value in changes.items():
        setattr(template, key, value)
    template.save()
    audit_log(actor=actor, action="crm.list_template.updated", obj=template, data={"fields": sorted(changes)})
    return template


@transaction.atomic
def list_template_deactivate(*, actor: User, template: ListTemplate) -> ListTemplate:
    """Retire a template (kept: batches refer to it)."""
    template.is_active = False
    template.save(update_fields=["is_active"])
    audit_log(actor=actor, action="crm.list_template.deactivated", obj=template)
    return template


def list_template_xlsx(*, template: ListTemplate) -> bytes:
    """The template as an XLSX to fill in: the header row (required columns in red, text format for
    ID numbers and phones), drop-down lists for choice columns, and a hidden sheet 字段规则 with the
    rules of every column (and the drop-down lists)."""
    import io

    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "客户名单"
    rules = workbook.create_sheet("字段规则")
    rules.sheet_state = "hidden"
    type_labels = {value: str(label) for value, label in FieldType.choices}
    rule_header = ["列名", "字段键", "类型", "必填", "最大长度", "最小值", "最大值", "格式（正则）", "可选值", "对应字段"]
    for offset, title in enumerate(rule_header, start=1):
        rules.cell(row=1, column=offset, value=title)
    list_column = len(rule_header) + 2  # the drop-down lists start two columns to the right
    for index, column in enumerate(template.columns, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=escape_cell(column["label"]))
        cell.data_type = "s"
        cell.font = Font(bold=True, color="C00000" if column["required"] else "000000")
        cell.fill = PatternFill("solid", fgColor="F2F2F2")
        hint = _column_hint(column, type_labels)
        if hint:
            cell.comment = Comment(hint, "网格化营销平台")
        sheet.column_dimensions[letter].width = max(12, min(40, len(column["label"]) * 3 + 4))
        if column["type"] in (FieldType.TEXT, FieldType.ID_NUMBER, FieldType.PHONE, FieldType.ADDRESS, FieldType.CHOICE,
                              FieldType.MULTI_CHOICE):
            sheet.column_dimensions[letter].number_format = "@"
        elif column["type"] == FieldType.DATE:
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
        rule = (
            column["label"], column["key"], type_labels.get(column["type"], column["type"]),
            "是" if column["required"] else "否", column["max_length"], column["min"], column["max"], column["regex"],
            "、".join(column["choices"]), column["maps_to"],
        )
        for offset, value in enumerate(rule, start=1):  # by position: the drop-down lists grow columns further right
            rules.cell(row=index + 1, column=offset, value=escape_cell(value))
        choices = column["choices"] if column["type"] == FieldType.CHOICE else (["是", "否"] if column["type"] == FieldType.BOOLEAN else [])
        if choices:
            list_letter = get_column_letter(list_column)
            rules.cell(row=1, column=list_column, value=escape_cell(column["label"])).data_type = "s"
            for offset, choice in enumerate(choices, start=2):
                rules.cell(row=offset, column=list_column, value=escape_cell(choice)).data_type = "s"
            validation = DataValidation(
                type="list", formula1=f"'字段规则'!${list_letter}$2:${list_letter}${len(choices) + 1}", allow_blank=True,
                showErrorMessage=True, errorTitle="输入有误", error="请从下拉列表中选择",
            )
            validation.add(f"{letter}2:{letter}1048576")
            sheet.add_data_validation(validation)
            list_column += 1
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_hint(column: dict[str, Any], type_labels: dict[str, str]) -> str:
    parts = [type_labels.get(column["type"], column["type"]), "必填" if column["required"] else "选填"]
    if column["max_length"]:
        parts.append(f"最多{column['max_length']}字")
    if column["min"] is not None:
        parts.append(f"最小{column['min']:g}")
    if column["max"] is not None:
        parts.append(f"最大{column['max']:g}")
    if column["type"] == FieldType.DATE:
        parts.append("格式 YYYY-MM-DD")
    if column["type"] == FieldType.MULTI_CHOICE and column["choices"]:
        parts.append("多个值用顿号分隔：" + "、".join(column["choices"][:20]))
    return "；".join(parts)


# ==================================================================================================
# Validating rows
# ==================================================================================================

def credit_code_valid(value: str) -> bool:
    """GB 32100-2015 unified social credit code: 18 characters with a mod-31 check character."""
    if len(value) != 18 or any(c not in _CREDIT_CODE_CHARS for c in value):
        return False
    total = sum(_CREDIT_CODE_CHARS.index(c) * w for c, w in zip(value[:17], _CREDIT_CODE_WEIGHTS))
    return _CREDIT_CODE_CHARS[(31 - total % 31) % 31] == value[17]


def _parse_date(raw: Any, text: str) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    match = _DATE_RE.match(text)
    if match is None and len(text) == 8 and text.isdigit():
        match = re.match(r"^(\d{4})(\d{2})(\d{2})$", text)
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


@dataclass
class CheckedRow:
    """One validated row: the cells as text (sensitive ones encrypted), errors per column key and,
    for a valid row, the staged customer values ("_")."""

    row_number: int
    cells: dict[str, str]
    errors: dict[str, list[str]]
    staged: dict[str, Any]
    id_hash: str = ""
    phone_hash: str = ""
    id_key: str = ""
    phone_key: str = ""


@dataclass
class RowChecker:
    """Validates rows of one template for one institution: per-cell rules, resident ID checksum,
    phone format, managers by employee number within the institution subtree, tags by name or code,
    coordinates converted from the batch's CRS, and duplicates inside the file."""

    template: ListTemplate
    institution: Institution
    crs: CRS
    managers: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    rule_tags: set[str] = field(default_factory=set)
    seen_ids: dict[str, int] = field(default_factory=dict)
    seen_phones: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.columns = list(self.template.columns)
        self.by_target = {c["maps_to"]: c for c in self.columns if c["maps_to"]}
        self.lookups = {t: _enum_lookup(t) for t in _ENUM_OF_TARGET}
        self.sensitive = {
            c["key"] for c in self.columns if c["type"] in (FieldType.ID_NUMBER, FieldType.PHONE) or c["maps_to"] in ("id_number", "phone")
        }
        self.regexes = {c["key"]: re.compile(c["regex"]) for c in self.columns if c["regex"]}
        self.choice_sets = {c["key"]: {x.lower() for x in c["choices"]} for c in self.columns if c["choices"]}
        self.default_id_type = IdType.CREDIT_CODE if self.template.customer_kind == CustomerKind.CORPORATE else IdType.RESIDENT_ID
        if "manager_employee_no" in self.by_target:
            self.managers = dict(
                User.objects.filter(institution__path__startswith=self.institution.path, is_active=True)
                .exclude(employee_no__isnull=True).exclude(employee_no="")
                .values_list("employee_no", "pk")
            )
        if "tags" in self.by_target:
            for tag in Tag.objects.filter(is_active=True).only("pk", "code", "name", "kind"):
                for spelling in (tag.code.lower(), tag.name.lower()):
                    if tag.kind == "rule":
                        self.rule_tags.add(spelling)
                    else:
                        self.tags[spelling] = tag.pk

    # --- one cell ---------------------------------------------------------------------------------
    def _value(self, column: dict[str, Any], raw: Any, text: str, errors: list[str]) -> Any:
        """The typed value of a non-empty cell (None with a message in ``errors`` when invalid)."""
        kind = column["type"]
        if column["max_length"] and len(text) > column["max_length"]:
            errors.append(_("长度不能超过%(n)d个字符") % {"n": column["max_length"]})
            return None
        if kind in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.LNG, FieldType.LAT):
            try:
                number = Decimal(text.replace(",", ""))
                if not number.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors.append(_("应为整数") if kind == FieldType.INTEGER else _("应为数字"))
                return None
            if kind == FieldType.INTEGER and number != number.to_integral_value():
                errors.append(_("应为整数"))
                return None
            if kind == FieldType.LNG and not -180 <= number <= 180:
                errors.append(_("经度应在-180到180之间"))
                return None
            if kind == FieldType.LAT and not -90 <= number <= 90:
                # Chinese longitudes (73–135°) in the latitude column: the columns were swapped.
                errors.append(_("纬度应在-90到90之间，经纬度可能填反了") if 73 <= number <= 135 else _("纬度应在-90到90之间"))
                return None
            if column["min"] is not None and number < Decimal(str(column["min"])):
                errors.append(_("不能小于%(n)s") % {"n": f"{column['min']:g}"})
                return None
            if column["max"] is not None and number > Decimal(str(column["max"])):
                errors.append(_("不能大于%(n)s") % {"n": f"{column['max']:g}"})
                return None
            return int(number) if kind == FieldType.INTEGER else float(number)
        if kind == FieldType.DATE:
            value = _parse_date(raw, text)
            if value is None:
                errors.append(_("日期无效，格式应为YYYY-MM-DD"))
            return value
        if kind == FieldType.BOOLEAN:
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            errors.append(_("应填“是”或“否”"))
            return None
        if kind == FieldType.PHONE:
            phone = re.sub(r"[\s-]", "", text)
            if phone.startswith("+86"):
                phone = phone[3:]
            elif len(phone) == 13 and phone.startswith("86"):
                phone = phone[2:]
            if not mobile_valid(phone):
                errors.append(_("手机号格式不正确，应为11位手机号码"))
                return None
            return phone
        if kind == FieldType.ID_NUMBER or column["maps_to"] == "id_number":
            if isinstance(raw, float):
                errors.append(_("证件号码被Excel存成了数字，末几位已丢失，请将该列设为文本后重新填写"))
                return None
            return re.sub(r"\s", "", text).upper()
        if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
            parts = [p.strip() for p in _SPLIT_RE.split(text)] if kind == FieldType.MULTI_CHOICE else [text]
            parts = [p for p in parts if p]
            allowed = self.choice_sets.get(column["key"])
            target = column["maps_to"]
            if allowed is not None:
                if target in self.lookups:
                    lookup = self.lookups[target]
                    allowed_values = {lookup.get(a) for a in allowed}
                    bad = [p for p in parts if lookup.get(p.lower()) not in allowed_values]
                else:
                    bad = [p for p in parts if p.lower() not in allowed]
                if bad:
                    errors.append(_("应为以下选项之一：%(choices)s") % {"choices": "、".join(column["choices"][:30])})
                    return None
            return parts if kind == FieldType.MULTI_CHOICE else parts[0]
        if column["key"] in self.regexes and not self.regexes[column["key"]].fullmatch(text):
            errors.append(_("格式不符合要求"))
            return None
        return text

    # --- one row ----------------------------------------------------------------------------------
    def check(self, row_number: int, raw_cells: dict[str, Any]) -> CheckedRow:
        cells: dict[str, str] = {}
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for column in self.columns:
            key = column["key"]
            raw = raw_cells.get(key)
            text = cell_text(raw)
            cells[key] = text
            if not text:
                if column["required"]:
                    errors[key] = [_("此项为必填")]
                continue
            problems: list[str] = []
            value = self._value(column, raw, text, problems)
            if problems:
                errors[key] = problems
            else:
                values[key] = value
        checked = CheckedRow(row_number=row_number, cells=cells, errors=errors, staged={})
        ciphers: dict[str, str] = {}
        self._customer(checked, values, ciphers)
        for key in self.sensitive:
            plain = cells.get(key)
            if plain:  # the staged cell reuses the customer field's ciphertext when the text is the same
                cells[key] = ciphers.get(plain) or crypto.encrypt(plain)
        return checked

    def _target(self, values: dict[str, Any], target: str) -> tuple[str, Any]:
        column = self.by_target.get(target)
        if column is None:
            return "", None
        return column["key"], values.get(column["key"])

    def _add(self, errors: dict[str, list[str]], key: str, message: str) -> None:
        errors.setdefault(key or "__row__", []).append(message)

    def _customer(self, row: CheckedRow, values: dict[str, Any], ciphers: dict[str, str]) -> None:
        """Cross-field rules and the staged customer values."""
        errors = row.errors
        staged: dict[str, Any] = {
            "kind": self.template.customer_kind,
            "status": self.template.customer_status,
            "archive_type": self.template.archive_type,
        }
        _key, name = self._target(values, "name")
        staged["name"] = name or ""
        for target in ("status", "kind"):
            key, value = self._target(values, target)
            if value:
                staged[target] = self.lookups[target][value.lower()]
        type_key, id_type = self._target(values, "id_type")
        id_key, id_number = self._target(values, "id_number")
        id_type = self.lookups["id_type"][id_type.lower()] if id_type else ""
        if id_number:
            id_type = id_type or self.default_id_type
            problem = None
            if id_type == IdType.RESIDENT_ID:
                problem = resident_id_problem(id_number)
                if problem:
                    problem = _(problem)
            elif id_type == IdType.CREDIT_CODE:
                if not credit_code_valid(id_number):
                    problem = _("统一社会信用代码格式或校验位错误")
            elif not _OTHER_ID_RE.match(id_number):
                problem = _("证件号码格式不正确")
            if problem:
                self._add(errors, id_key, problem)
            else:
                row.id_hash = crypto.keyed_hash(id_number)
                row.id_key = id_key
                first = self.seen_ids.setdefault(row.id_hash, row.row_number)
                if first != row.row_number:
                    self._add(errors, id_key, _("与第%(row)d行的证件号码重复") % {"row": first})
                ciphers[id_number] = crypto.encrypt(id_number)
                staged.update(id_type=id_type, id_number=ciphers[id_number], idh=row.id_hash)
                if id_type == IdType.RESIDENT_ID:
                    birth, gender = resident_id_birth_and_gender(id_number)
                    staged.update(birth=birth.isoformat(), gender=gender)
        elif id_type:
            staged["id_type"] = id_type
        phone_key, phone = self._target(values, "phone")
        if phone:
            row.phone_hash = crypto.keyed_hash(phone)
            row.phone_key = phone_key
            first = self.seen_phones.setdefault(row.phone_hash, row.row_number)
            if first != row.row_number:
                self._add(errors, phone_key, _("与第%(row)d行的手机号重复") % {"row": first})
            ciphers[phone] = crypto.encrypt(phone)
            staged.update(phone=ciphers[phone], ph=row.phone_hash)
        _key, address = self._target(values, "address")
        staged["address"] = address or ""
        manager_key, employee_no = self._target(values, "manager_employee_no")
        if employee_no:
            manager = self.managers.get(employee_no)
            if manager is None:
                self._add(errors, manager_key, _("工号不存在，或该员工不在本机构及下级机构"))
            else:
                staged["mgr"] = manager
        tags_key, tags = self._target(values, "tags")
        if tags:
            names = tags if isinstance(tags, list) else [p.strip() for p in _SPLIT_RE.split(tags) if p.strip()]
            unknown = [n for n in names if n.lower() not in self.tags]
            if unknown:
                if any(n.lower() in self.rule_tags for n in unknown):
                    self._add(errors, tags_key, _("规则标签不能手工导入：%(names)s") % {"names": "、".join(unknown)})
                else:
                    self._add(errors, tags_key, _("标签不存在：%(names)s") % {"names": "、".join(unknown)})
            else:
                staged["tags"] = sorted({self.tags[n.lower()] for n in names})
        lng_key, lng = self._target(values, "lng")
        lat_key, lat = self._target(values, "lat")
        lng_given, lat_given = bool(row.cells.get(lng_key)), bool(row.cells.get(lat_key))
        if lng_given != lat_given:
            self._add(errors, lat_key if lng_given else lng_key, _("经度和纬度须同时填写"))
        elif lng is not None and lat is not None:
            if out_of_china(lng, lat):
                message = _("经纬度可能填反了") if not out_of_china(lat, lng) else _("坐标不在中国境内")
                self._add(errors, lng_key, message)
            else:
                wgs_lng, wgs_lat = convert_point(lng, lat, src=self.crs, dst=CRS.WGS84)
                staged.update(lng=round(wgs_lng, 8), lat=round(wgs_lat, 8), crs=str(self.crs))
        archive = {}
        for column in self.columns:
            target = column["maps_to"]
            if target.startswith(ARCHIVE_PREFIX) and column["key"] in values:
                value = values[column["key"]]
                archive[target[len(ARCHIVE_PREFIX):]] = value.isoformat() if isinstance(value, dt.date) else value
        if archive:
            staged["archive"] = archive
        row.staged = staged


def _header_map(header: tuple[Any, ...], columns: list[dict[str, Any]]) -> tuple[dict[int, str], list[str]]:
    """File column index → template column key, by label (a leading * and spaces ignored) or key."""
    by_name: dict[str, str] = {}
    for column in columns:
        by_name[re.sub(r"\s", "", column["label"]).lower()] = column["key"]
        by_name[column["key"].lower()] = column["key"]
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for index, value in enumerate(header):
        name = re.sub(r"\s", "", cell_text(value)).lstrip("*＊").lower()
        if not name:
            continue
        key = by_name.get(name)
        if key is None or key in mapping.values():
            ignored.append(cell_text(value))
        else:
            mapping[index] = key
    return mapping, ignored


# ==================================================================================================
# Upload and preview
# ==================================================================================================

def _spool(upload: IO[bytes]) -> tuple[IO[bytes], str, int]:
    """Copy the upload to a private temporary file (never under a user-chosen name, never kept),
    hashing it and enforcing the size limit on the way."""
    limit = max_file_bytes()
    digest = hashlib.sha256()
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    size = 0
    if hasattr(upload, "seek"):
        upload.seek(0)
    chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1024 * 1024), b"")
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise ValidationFailed(
                _("文件超过 %(mb)d MB 的上限") % {"mb": limit // (1024 * 1024)}, code="file_too_large"
            )
        digest.update(chunk)
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, digest.hexdigest(), size


def _archive_template_for(template: ListTemplate) -> ArchiveTemplate | None:
    if not any(c["maps_to"].startswith(ARCHIVE_PREFIX) for c in template.columns):
        return None
    archive_template = (
        ArchiveTemplate.objects.filter(archive_type=template.archive_type, is_active=True).order_by("-version").first()
    )
    if archive_template is None:
        raise ValidationFailed(
            _("尚未配置该建档类型的采集模板，不能导入建档字段"), code="archive_template_missing"
        )
    return archive_template


def import_batch_upload(
    *,
    actor: User,
    template: ListTemplate,
    name: str,
    upload: IO[bytes],
    file_name: str,
    crs: str = "wgs84",
    institution: Institution | None = None,
) -> ImportBatch:
    """Check the file by content, parse it streaming, validate every cell, find duplicates and stage
    the rows (COPY) as a batch in status ``previewed``. Everything or nothing: a file-level problem
    (format, size, rows over the limit, missing required columns) leaves no batch behind."""
    if not template.is_active:
        raise ValidationFailed(_("该模板已停用"), code="template_inactive")
    try:
        source_crs = parse_crs(crs or "wgs84")
    except UnknownCRSError:
        raise ValidationFailed(_("未知的坐标系，可选 wgs84、gcj02、bd09"), code="crs_unknown") from None
    _archive_template_for(template)
    institution = institution or actor.institution
    handle, sha256, _size = _spool(upload)
    try:
        inspected = file_inspect(handle)
        limit = max_rows()
        if data_rows_exceed(handle, inspected, limit=limit):
            raise ValidationFailed(
                _("文件数据行超过 %(n)s 行的上限，请拆分后分批导入") % {"n": f"{limit:,}"}, code="file_too_many_rows"
            )
        return _stage(
            actor=actor, template=template, name=name, handle=handle, inspected=inspected,
            file_name=file_name, sha256=sha256, crs=source_crs, institution=institution, limit=limit,
        )
    finally:
        handle.close()


@transaction.atomic
def _stage(
    *, actor: User, template: ListTemplate, name: str, handle: IO[bytes], inspected: InspectedFile, file_name: str,
    sha256: str, crs: CRS, institution: Institution, limit: int,
) -> ImportBatch:
    batch = ImportBatch.objects.create(
        name=name, template=template, institution=institution, operator=actor,
        file_name=(file_name or "").replace("\\", "/").rsplit("/", 1)[-1][:255], file_sha256=sha256,
        status=ImportStatus.PREVIEWED,
    )
    checker = RowChecker(template=template, institution=institution, crs=crs)
    mapping: dict[int, str] | None = None
    chunk: list[CheckedRow] = []
    totals = {"total": 0, "valid": 0, "invalid": 0}
    ignored: list[str] = []
    for row_number, values in iter_rows(handle, inspected):
        if mapping is None:
            mapping, ignored = _header_map(values, template.columns)
            present = set(mapping.values())
            missing = [c["label"] for c in template.columns if c["required"] and c["key"] not in present]
            if missing:
                raise ValidationFailed(
                    _("文件缺少必填列：%(labels)s") % {"labels": "、".join(missing)},
                    code="file_columns_missing", details={"missing": missing},
                )
            continue
        totals["total"] += 1
        if totals["total"] > limit:
            raise ValidationFailed(
                _("文件数据行超过 %(n)s 行的上限，请拆分后分批导入") % {"n": f"{limit:,}"}, code="file_too_many_rows"
            )
        raw = {key: values[index] for index, key in mapping.items() if index < len(values)}
        chunk.append(checker.check(row_number, raw))
        if len(chunk) >= STAGE_CHUNK:
            _flush(batch, institution, chunk, totals)
            chunk = []
    if mapping is None or totals["total"] == 0:
        raise ValidationFailed(_("文件中没有数据行"), code="file_empty")
    _flush(batch, institution, chunk, totals)
    batch.total_rows, batch.valid_rows, batch.invalid_rows = totals["total"], totals["valid"], totals["invalid"]
    batch.error = {"ignored_columns": ignored} if ignored else {}
    batch.save(update_fields=["total_rows", "valid_rows", "invalid_rows", "error"])
    audit_log(
        actor=actor, action="crm.import.uploaded", obj=batch,
        data={"template": template.pk, "file": batch.file_name, "sha256": sha256, "kind": inspected.kind,
              "rows": totals["total"], "valid": totals["valid"], "invalid": totals["invalid"]},
    )
    return batch


def _flush(batch: ImportBatch, institution: Institution, chunk: list[CheckedRow], totals: dict[str, int]) -> None:
    """Duplicates against the institution's existing customers, then COPY the chunk into crm_importrow."""
    if not chunk:
        return
    hashes = [row.id_hash for row in chunk if row.id_hash]
    if hashes:
        existing = set(
            Customer.objects.filter(institution=institution, id_number_hash__in=hashes).values_list("id_number_hash", flat=True)
        )
        for row in chunk:
            if row.id_hash in existing:
                row.errors.setdefault(row.id_key, []).append(_("该证件号码的客户已存在"))
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {ImportRow._meta.db_table} (batch_id, row_number, data, errors) FROM STDIN") as copy:
            for row in chunk:
                data: dict[str, Any] = {"cells": row.cells}
                if row.errors:
                    totals["invalid"] += 1
                else:
                    totals["valid"] += 1
                    data["_"] = row.staged
                copy.write_row(
                    (batch.pk, row.row_number, json.dumps(data, ensure_ascii=False), json.dumps(row.errors, ensure_ascii=False))
                )


# ==================================================================================================
# Commit
# ==================================================================================================

def _other_customer_columns(given: set[str]) -> tuple[str, str, list[Any]]:
    """The NOT NULL customer columns the commit SQL does not set, with their model defaults, so the
    set-based INSERT keeps working when the model grows. Returns (", col…", ", %s…", params)."""
    columns, params = [], []
    for model_field in Customer._meta.concrete_fields:
        if model_field.primary_key or model_field.null or model_field.column in given:
            continue
        if model_field.has_default():
            value = model_field.get_default()
        elif model_field.db_default is not NOT_PROVIDED:
            continue
        elif model_field.empty_strings_allowed:
            value = ""
        else:  # pragma: no cover - a new required field without default needs a commit rule
            raise RuntimeError(f"no import value for {Customer._meta.db_table}.{model_field.column}")
        columns.append(model_field.column)
        params.append(model_field.get_db_prep_save(value, connection))
    return "".join(f", {c}" for c in columns), "".join(", %s" for _c in columns), params


_COMMIT_COLUMNS = (
    "id", "kind", "status", "archive_type", "name", "id_type", "id_number", "id_number_hash", "phone", "phone_hash",
    "birth_date", "gender", "address", "location", "geocode_status", "geocode_level", "geocode_confidence",
    "geocode_source", "input_crs", "institution_id", "manager_id", "import_batch_id", "created_at", "updated_at",
)


def import_batch_commit(
    *, actor: User, batch: ImportBatch, mode: str, accepted_rows: Iterable[int] | None = None
) -> ImportBatch:
    """Create the batch's customers in ONE transaction: every row (``all_or_nothing``, refused if any
    row is invalid), the valid rows (``valid_rows``) or exactly the accepted ones (``accepted_rows``,
    refused if one of them is invalid). Committing a committed batch answers 409
    ``batch_already_committed``. Geocoding and grid placement follow in a Celery job."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ImportStatus.PREVIEWED:
            if batch.committed_at is not None or batch.status in (ImportStatus.COMMITTED, ImportStatus.GEOCODING, ImportStatus.DONE):
                raise Conflict(_("该批次已经提交过，不能重复提交"), code="batch_already_committed")
            raise Conflict(_("该批次已放弃或失败，不能提交"), code="batch_not_committable")
        selection, params = _selection(batch=batch, mode=mode, accepted_rows=accepted_rows)
        clashes = _rows_now_duplicate(batch=batch, selection=selection, params=params)
        if clashes:
            raise Conflict(
                _("预览后又有相同证件号码的客户被录入，请重新上传：第%(rows)s行") % {"rows": "、".join(map(str, clashes[:20]))},
                code="batch_rows_now_duplicate", details={"rows": clashes},
            )
        archive_template = _archive_template_for(batch.template)
        try:
            with transaction.atomic():
                count = _insert_customers(batch=batch, actor=actor, selection=selection, params=params, archive_template=archive_template)
        except IntegrityError:
            raise Conflict(_("有客户与已有客户的证件号码重复，请重新上传"), code="batch_rows_now_duplicate") from None
        if count == 0:
            raise ValidationFailed(_("没有可提交的行"), code="nothing_to_commit")
        now = timezone.now()
        batch.status, batch.mode, batch.committed_rows, batch.committed_at, batch.progress = (
            ImportStatus.COMMITTED, mode, count, now, 0,
        )
        batch.save(update_fields=["status", "mode", "committed_rows", "committed_at", "progress"])
        audit_log(
            actor=actor, action="crm.import.committed", obj=batch,
            data={"mode": mode, "committed": count, "total": batch.total_rows, "invalid": batch.invalid_rows},
        )
        batch_id = batch.pk
        transaction.on_commit(lambda: _enqueue_geocoding(batch_id))
    return batch


def _rows_now_duplicate(*, batch: ImportBatch, selection: str, params: list[Any]) -> list[int]:
    """Selected rows whose ID number reached the institution's customers since the preview. The
    hashes go to the customer index as one array (a join here let the planner pick a nested loop
    over fresh, unanalysed staging rows: 80 s for 20,000 rows)."""
    rows, customers = ImportRow._meta.db_table, Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.id_number_hash FROM {customers} c
                WHERE c.institution_id = %s AND c.id_number_hash = ANY(ARRAY(
                    SELECT r.data->'_'->>'idh' FROM {rows} r
                    WHERE r.batch_id = %s AND {selection} AND r.data->'_'->>'idh' IS NOT NULL))""",
            [batch.institution_id, batch.pk, *params],
        )
        taken = [row[0] for row in cursor.fetchall()]
        if not taken:
            return []
        cursor.execute(
            f"""SELECT r.row_number FROM {rows} r
                WHERE r.batch_id = %s AND {selection} AND r.data->'_'->>'idh' = ANY(%s) ORDER BY r.row_number""",
            [batch.pk, *params, taken],
        )
        return [row[0] for row in cursor.fetchall()]


def _enqueue_geocoding(batch_id: int) -> None:
    from crm.tasks import import_batch_geocode_task

    import_batch_geocode_task.delay(batch_id)


def _selection(*, batch: ImportBatch, mode: str, accepted_rows: Iterable[int] | None) -> tuple[str, list[Any]]:
    """The SQL condition on staged rows ``r`` that the mode commits, after the mode's own checks."""
    if mode == ImportMode.ALL_OR_NOTHING:
        if batch.invalid_rows:
            raise ValidationFailed(
                _("有%(n)d行数据有误，“全部正确才提交”模式下不提交任何数据") % {"n": batch.invalid_rows},
                code="batch_has_invalid_rows", details={"invalid_rows": batch.invalid_rows},
            )
        return "r.errors = '{}'::jsonb", []
    if mode == ImportMode.VALID_ROWS:
        return "r.errors = '{}'::jsonb", []
    if mode == ImportMode.ACCEPTED_ROWS:
        rows = sorted({int(n) for n in (accepted_rows or [])})
        if not rows:
            raise ValidationFailed(_("请至少选择一行"), code="nothing_to_commit")
        found = dict(ImportRow.objects.filter(batch=batch, row_number__in=rows).values_list("row_number", "errors"))
        unknown = [n for n in rows if n not in found]
        if unknown:
            raise ValidationFailed(
                _("所选行不存在：%(rows)s") % {"rows": "、".join(map(str, unknown[:20]))},
                code="accepted_rows_unknown", details={"rows": unknown},
            )
        invalid = [n for n in rows if found[n]]
        if invalid:
            raise ValidationFailed(
                _("所选行中有数据错误，不能提交：第%(rows)s行") % {"rows": "、".join(map(str, invalid[:20]))},
                code="accepted_rows_invalid", details={"rows": invalid},
            )
        return "r.row_number = ANY(%s)", [rows]
    raise ValidationFailed(_("未知的提交方式"), code="mode_unknown")


def _insert_customers(
    *, batch: ImportBatch, actor: User, selection: str, params: list[Any], archive_template: ArchiveTemplate | None
) -> int:
    """Set-based commit: draw customer ids for the selected staged rows, then INSERT … SELECT the
    customers (and their tags and archives) from the staged values. Foreign keys are deferred, so the
    staged rows may point at their customers before these exist."""
    rows = ImportRow._meta.db_table
    customers = Customer._meta.db_table
    extra_columns, extra_values, extra_params = _other_customer_columns(set(_COMMIT_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {rows} r SET customer_id = nextval(pg_get_serial_sequence(%s, 'id'))
                WHERE r.batch_id = %s AND {selection}""",
            [customers, batch.pk, *params],
        )
        if cursor.rowcount == 0:
            return 0
        cursor.execute(
            f"""
            INSERT INTO {customers} ({", ".join(_COMMIT_COLUMNS)}{extra_columns})
            SELECT r.customer_id, d->>'kind', d->>'status', coalesce(d->>'archive_type', ''), d->>'name',
                   coalesce(d->>'id_type', ''), coalesce(d->>'id_number', ''), coalesce(d->>'idh', ''),
                   coalesce(d->>'phone', ''), coalesce(d->>'ph', ''), (d->>'birth')::date, coalesce(d->>'gender', ''),
                   coalesce(d->>'address', ''),
                   CASE WHEN d->>'lng' IS NOT NULL
                        THEN ST_SetSRID(ST_MakePoint((d->>'lng')::float8, (d->>'lat')::float8), 4326) END,
                   CASE WHEN d->>'lng' IS NOT NULL THEN %s WHEN coalesce(d->>'address', '') = '' THEN %s ELSE %s END,
                   '', NULL, CASE WHEN d->>'lng' IS NOT NULL THEN 'import' ELSE '' END, coalesce(d->>'crs', ''),
                   %s, (d->>'mgr')::bigint, %s, now(), now(){extra_values}
            FROM {rows} r CROSS JOIN LATERAL (SELECT r.data->'_' AS d) s
            WHERE r.batch_id = %s AND r.customer_id IS NOT NULL
            """,
            [GeocodeStatus.PROVIDED, GeocodeStatus.FAILED, GeocodeStatus.PENDING, batch.institution_id, batch.pk,
             *extra_params, batch.pk],
        )
        count = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {CustomerTag._meta.db_table} (customer_id, tag_id, created_by_id, created_at)
            SELECT r.customer_id, t.tag::bigint, %s, now()
            FROM {rows} r CROSS JOIN LATERAL jsonb_array_elements_text(r.data->'_'->'tags') AS t(tag)
            WHERE r.batch_id = %s AND r.customer_id IS NOT NULL AND jsonb_typeof(r.data->'_'->'tags') = 'array'
            ON CONFLICT DO NOTHING
            """,
            [actor.pk, batch.pk],
        )
        if archive_template is not None:
            cursor.execute(
                f"""
                INSERT INTO {Archive._meta.db_table} (customer_id, archive_type, template_id, data, created_by_id, updated_at)
                SELECT r.customer_id, %s, %s, r.data->'_'->'archive', %s, now()
                FROM {rows} r
                WHERE r.batch_id = %s AND r.customer_id IS NOT NULL AND r.data->'_'->'archive' IS NOT NULL
                """,
                [archive_template.archive_type, archive_template.pk, actor.pk, batch.pk],
            )
    return count


@transaction.atomic
def import_batch_discard(*, actor: User, batch: ImportBatch) -> ImportBatch:
    """Give up a previewed batch: its staged rows are deleted, the batch stays for the record."""
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != ImportStatus.PREVIEWED:
        raise Conflict(_("只有未提交的批次可以放弃"), code="batch_not_discardable")
    deleted, _details = ImportRow.objects.filter(batch=batch).delete()
    batch.status = ImportStatus.DISCARDED
    batch.save(update_fields=["status"])
    audit_log(actor=actor, action="crm.import.discarded", obj=batch, data={"rows_deleted": deleted})
    return batch


# ==================================================================================================
# Geocoding and placement (the Celery job's body)
# ==================================================================================================

def _status_for(result: Any) -> tuple[str, float | None, float | None, str, float | None, str]:
    """(status, lng, lat, level, confidence, source) of a geocoder result: matched when the level is
    a community or finer and the confidence at least 0.6, low_confidence when located less surely,
    failed when not located. Reads the plain lng/lat of the result (no GEOS object per row)."""
    from gis_core.geocoding.base import LEVEL_RANK

    if result is None:
        return GeocodeStatus.FAILED, None, None, "none", None, ""
    lng, lat = getattr(result, "lng", None), getattr(result, "lat", None)
    level = result.level or ""
    confidence = float(result.confidence or 0.0)
    source = result.source or ""
    if lng is None or lat is None:
        return GeocodeStatus.FAILED, None, None, level or "none", confidence, source
    fine = LEVEL_RANK.get(level, 0) >= _FINE_ENOUGH_RANK
    status = GeocodeStatus.MATCHED if fine and confidence >= LOW_CONFIDENCE else GeocodeStatus.LOW_CONFIDENCE
    return status, lng, lat, level, confidence, source


def import_batch_geocode(*, batch_id: int, chunk_size: int = GEOCODE_CHUNK) -> ImportBatch:
    """Geocode the batch's pending customers in chunks (each chunk its own transaction, so progress
    shows and a re-run only does what is left), then place every located customer of the batch into
    grids with ONE ``points_place`` call over the batch's extent, then mark the batch done.
    Safe to run twice: a done batch is left alone."""
    from django.contrib.gis.db.models import Extent
    from django.contrib.gis.geos import Polygon

    from gis_core.geocoding import geocode_many
    from grids.membership import points_place

    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status not in (ImportStatus.COMMITTED, ImportStatus.GEOCODING):
            return batch
        batch.status = ImportStatus.GEOCODING
        batch.save(update_fields=["status"])
    pending = Customer.objects.filter(import_batch_id=batch_id, geocode_status=GeocodeStatus.PENDING)
    to_do = pending.count()
    done = 0
    counts = {"matched": 0, "low_confidence": 0, "failed": 0}
    while True:
        chunk = list(pending.order_by("id").values_list("id", "address")[:chunk_size])
        if not chunk:
            break
        results = geocode_many([address for _pk, address in chunk])
        ids, lngs, lats, statuses, levels, confidences, sources = [], [], [], [], [], [], []
        for (pk, _address), result in zip(chunk, results, strict=True):
            status, lng, lat, level, confidence, source = _status_for(result)
            counts[status] = counts.get(status, 0) + 1
            ids.append(pk)
            lngs.append(lng)
            lats.append(lat)
            statuses.append(str(status))
            levels.append(level[:16])
            confidences.append(confidence)
            sources.append(source[:16])
        done += len(chunk)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {Customer._meta.db_table} c SET
                    location = CASE WHEN v.lng IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(v.lng, v.lat), 4326) END,
                    geocode_status = v.status, geocode_level = v.level, geocode_confidence = v.confidence,
                    geocode_source = v.source, input_crs = CASE WHEN v.lng IS NULL THEN c.input_crs ELSE 'wgs84' END,
                    updated_at = now()
                FROM unnest(%s::bigint[], %s::float8[], %s::float8[], %s::text[], %s::text[], %s::float8[], %s::text[])
                     AS v(id, lng, lat, status, level, confidence, source)
                WHERE c.id = v.id AND c.geocode_status = %s
                """,
                [ids, lngs, lats, statuses, levels, confidences, sources, GeocodeStatus.PENDING],
            )
            ImportBatch.objects.filter(pk=batch_id).update(
                geocoded_rows=F("geocoded_rows") + len(chunk), progress=min(95, int(95 * done / max(to_do, 1)))
            )
    with transaction.atomic():
        extent = Customer.objects.filter(import_batch_id=batch_id, location__isnull=False).aggregate(e=Extent("location"))["e"]
        placed = 0
        if extent is not None:
            xmin, ymin, xmax, ymax = extent
            area = Polygon.from_bbox((xmin - 1e-6, ymin - 1e-6, xmax + 1e-6, ymax + 1e-6))
            area.srid = 4326
            placed = points_place("crm.customer", area=area)
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        batch.status, batch.progress = ImportStatus.DONE, 100
        batch.save(update_fields=["status", "progress"])
        audit_log(
            actor=None, action="crm.import.geocoded", obj=batch,
            data={"geocoded": done, **counts, "placement_rows_changed": placed},
        )
    return batch


def import_batch_fail(*, batch_id: int, code: str, message: str) -> None:
    """Record that the background job of a batch failed (the committed customers stay)."""
    ImportBatch.objects.filter(pk=batch_id).update(status=ImportStatus.FAILED, error={"code": code, "message": message})


# ==================================================================================================
# Error rows and segments
# ==================================================================================================

def import_errors_xlsx(*, actor: User, batch: ImportBatch) -> bytes:
    """The invalid rows as an XLSX to correct and upload again: the template's columns with the
    values as uploaded (in clear: it is the operator's own file), the row number and the errors.
    Every cell is escaped against formula injection. Audited (it shows ID numbers in clear)."""
    columns = batch.template.columns
    sensitive = {c["key"] for c in columns if c["type"] in (FieldType.ID_NUMBER, FieldType.PHONE) or c["maps_to"] in ("id_number", "phone")}
    labels = {c["key"]: c["label"] for c in columns}
    header = [c["label"] for c in columns] + ["原行号", "错误说明"]
    count = 0

    def rows():
        nonlocal count
        queryset = ImportRow.objects.filter(batch=batch).exclude(errors={}).order_by("row_number").values_list("row_number", "data", "errors")
        for row_number, data, errors in queryset.iterator(chunk_size=2000):
            count += 1
            cells = data.get("cells", {})
            values = [crypto.decrypt(cells.get(c["key"], "")) if c["key"] in sensitive else cells.get(c["key"], "") for c in columns]
            explained = "；".join(f"{labels.get(key, '')}：{'，'.join(messages)}" if key in labels else "，".join(messages)
                                 for key, messages in errors.items())
            yield [*values, row_number, explained]

    content = write_rows_xlsx(title="错误行", header=header, rows=rows(), widths=[16] * len(columns) + [8, 60])
    audit_log(actor=actor, action="crm.import.errors_exported", obj=batch, data={"rows": count})
    return content


@transaction.atomic
def import_batch_save_as_segment(*, actor: User, batch: ImportBatch, name: str = "") -> Segment:
    """A private draft segment of the batch's customers, through the segments service (definition
    ``{"v": 1, "import_batch": id}``, owner's scope), its membership materialised at once so the
    answer carries the count (the service's own refresh after commit finds nothing more to do)."""
    from crm.segments import segment_create, segment_refresh

    if batch.committed_at is None:
        raise Conflict(_("批次尚未提交，不能保存为客群"), code="batch_not_committed")
    segment = segment_create(
        actor=actor, name=(name or f"导入批次：{batch.name}")[:100], description=f"由名单导入批次 #{batch.pk} 生成"[:255],
        definition={"v": 1, "import_batch": batch.pk}, source_batch=batch,
    )
    segment_refresh(segment=segment)
    segment.refresh_from_db()
    audit_log(actor=actor, action="crm.import.saved_as_segment", obj=batch, data={"segment": segment.pk, "members": segment.member_count})
    return segment


__all__ = [
    "default_template_columns",
    "import_batch_commit",
    "import_batch_discard",
    "import_batch_geocode",
    "import_batch_save_as_segment",
    "import_batch_upload",
    "import_errors_xlsx",
    "list_template_columns_clean",
    "list_template_create",
    "list_template_deactivate",
    "list_template_default_ensure",
    "list_template_update",
    "list_template_xlsx",
]
