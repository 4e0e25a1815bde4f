"""Models of gis_core: the organisation, its people and roles, audit, reference data and places.

Geometry is WGS-84 (SRID 4326) only; other datums are converted at the edges by gis_core.crs.
"""
from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gis_core.choices import (
    AuditResult,
    DivisionKind,
    DivisionLevel,
    GeometrySource,
    InstitutionKind,
    PoiCategory,
    RoleCode,
)
from gis_core.fields import EncryptedTextField
from gis_core.scope import ScopedManager, ScopedQuerySet


class Institution(models.Model):
    """A node of the bank's organisation tree (ORG-1): head office → branch → sub-branch → outlet.

    `path` is a materialised path of ids ("/1/4/9/") so that a whole subtree is one indexed
    prefix query; the data scope of every user is the path of their institution.
    """

    scope_institution_field = ""

    code = models.CharField(_("机构代码"), max_length=32, unique=True)
    name = models.CharField(_("机构名称"), max_length=100)
    kind = models.CharField(_("机构类型"), max_length=16, choices=InstitutionKind.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级机构"))
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    location = models.PointField(_("位置"), srid=4326, null=True, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["path"]
        indexes = [models.Index(fields=["path"], name="institution_path_like", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"


class Role(models.Model):
    """A role (ORG-2). Which permission codes a role grants is declared in code
    (`<app>/permissions.py`), so that it is reviewed and tested like any other rule."""

    code = models.CharField(_("角色代码"), max_length=32, unique=True, choices=RoleCode.choices)
    name = models.CharField(_("角色名称"), max_length=64)
    description = models.CharField(_("说明"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ScopedUserQuerySet(ScopedQuerySet):
    pass


class ScopedUserManager(UserManager.from_queryset(ScopedUserQuerySet)):  # type: ignore[misc]
    """Django's user manager plus `for_actor()`."""


class User(AbstractUser):
    """A member of staff (or an external grid liaison) who signs in.

    Phone is stored SM4-encrypted with a keyed hash for exact lookups (SEC-5). The login-safety
    fields back the lockout, password-age and one-session rules (SEC-1..SEC-3).
    """

    scope_institution_field = "institution"

    institution = models.ForeignKey(Institution, models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("所属机构"))
    employee_no = models.CharField(_("工号"), max_length=32, unique=True, null=True, blank=True)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    roles = models.ManyToManyField(Role, blank=True, related_name="users", verbose_name=_("角色"))

    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    must_change_password = models.BooleanField(_("须修改密码"), default=True)
    failed_login_count = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    last_login_ip = models.GenericIPAddressField(null=True, blank=True)
    previous_login_at = models.DateTimeField(_("上次登录时间"), null=True, blank=True)
    previous_login_ip = models.GenericIPAddressField(_("上次登录地址"), null=True, blank=True)
    current_session_key = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = ScopedUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def role_codes(self) -> set[str]:
        cached = getattr(self, "_role_codes", None)
        if cached is None:
            cached = set(self.roles.values_list("code", flat=True)) if self.pk else set()
            self._role_codes = cached
        return cached

    def has_role(self, code: str) -> bool:
        return code in self.role_codes

    def has_perm_code(self, code: str) -> bool:
        """True when one of the user's roles grants the declared permission `code`."""
        from gis_core.permissions import permissions_for_roles

        if not self.is_active:
            return False
        return code in permissions_for_roles(self.role_codes)

    @property
    def permission_codes(self) -> set[str]:
        from gis_core.permissions import permissions_for_roles

        return permissions_for_roles(self.role_codes) if self.is_active else set()


class PasswordHistory(models.Model):
    """Hashes of a user's recent passwords, so none of the last five is used again (SEC-1)."""

    user = models.ForeignKey(User, models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]


class ApiToken(models.Model):
    """An expiring bearer token for the mobile app (beside session login). Only a SHA-256 of the
    token is stored; the token itself is shown once, at issue."""

    scope_institution_field = "user__institution"

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    device_name = models.CharField(_("设备"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class AuditEntry(models.Model):
    """One audited event (ORG-6, SEC-8): who, when, what, on what, with which result, from where.

    Written by services in the same transaction as the change. Never holds secrets: passwords and
    tokens are stripped by gis_core.audit before saving.
    """

    scope_institution_field = "institution"

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人"))
    actor_username = models.CharField(_("账号"), max_length=150, blank=True)
    institution = models.ForeignKey(Institution, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("机构"))
    action = models.CharField(_("操作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    object_id = models.CharField(_("对象"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象名称"), max_length=200, blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    result = models.CharField(_("结果"), max_length=16, choices=AuditResult.choices, default=AuditResult.SUCCESS)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["actor", "created_at"]), models.Index(fields=["object_type", "object_id"])]


class Dictionary(models.Model):
    """A code table (码值, ORG-5): e.g. customer classes, ID types, industries."""

    code = models.CharField(_("字典代码"), max_length=64, unique=True)
    name = models.CharField(_("字典名称"), max_length=100)
    description = models.CharField(_("说明"), max_length=255, blank=True)
    is_system = models.BooleanField(_("系统内置"), default=False)

    class Meta:
        verbose_name = _("数据字典")
        verbose_name_plural = _("数据字典")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DictionaryItem(models.Model):
    """One code value of a dictionary."""

    dictionary = models.ForeignKey(Dictionary, models.CASCADE, related_name="items")
    value = models.CharField(_("码值"), max_length=64)
    label = models.CharField(_("名称"), max_length=100)
    label_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    sort_order = models.IntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["dictionary", "sort_order", "value"]
        constraints = [models.UniqueConstraint(fields=["dictionary", "value"], name="dictionary_item_unique_value")]

    def __str__(self) -> str:
        return self.label


class CalendarDay(models.Model):
    """An exception to the Monday–Friday rule (ORG-7): a holiday on a weekday, or a make-up
    working day (调休) on a weekend. Days without a row follow the weekday rule."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("工作日设置")
        verbose_name_plural = _("工作日设置")
        ordering = ["date"]


class AdminDivision(models.Model):
    """An official administrative division (GC-5) with its NBS statistical code.

    Geometry is real for the city and districts and synthetic (marked so) below; names and codes
    are always real. Reference data: visible to every signed-in user with `gis_core.map.view`.
    """

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=100, blank=True)
    level = models.CharField(_("层级"), max_length=16, choices=DivisionLevel.choices, db_index=True)
    kind = models.CharField(_("类型"), max_length=16, choices=DivisionKind.choices)
    parent = models.ForeignKey("self", models.CASCADE, null=True, blank=True, related_name="children")
    geom = models.MultiPolygonField(srid=4326, null=True, blank=True)
    geometry_source = models.CharField(max_length=16, choices=GeometrySource.choices, default=GeometrySource.NONE)
    centroid = models.PointField(srid=4326, null=True, blank=True)
    area_km2 = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Poi(models.Model):
    """A point of interest / economic unit (GC-4), for example a bank branch or housing estate."""

    source = models.CharField(_("来源"), max_length=16)
    source_id = models.CharField(_("来源编号"), max_length=64)
    name = models.CharField(_("名称"), max_length=200)
    category = models.CharField(_("类别"), max_length=16, choices=PoiCategory.choices, db_index=True)
    source_class = models.CharField(_("原始类别"), max_length=40, blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    division = models.ForeignKey(AdminDivision, models.SET_NULL, null=True, blank=True, related_name="pois")
    geom = models.PointField(srid=4326)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("兴趣点")
        verbose_name_plural = _("兴趣点")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="poi_unique_source_id")]

    def __str__(self) -> str:
        return self.name
