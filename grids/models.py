"""Models of grids: the grid hierarchy, its history, assignment (定格-定岗-定人-定责), liaisons
(金融三员), transfers, generation drafts and ratings (GR-1 .. GR-10).

Geometry is WGS-84 MultiPolygon. Rules (validity, inside parent, no sibling overlap, optimistic
locking) are enforced by grids.services, never by save().
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gis_core.fields import EncryptedTextField
from gis_core.scope import ScopedManager, ScopedQuerySet
from grids.choices import (
    BusinessLine,
    GenerationMethod,
    Grade,
    GridKind,
    GridLevel,
    GridPost,
    GridStatus,
    HistoryAction,
    JobStatus,
    LiaisonType,
    VirtualType,
)


class GridQuerySet(ScopedQuerySet):
    """Grids are scoped like every institution-owned row. Account managers and liaisons, who may
    only read their own grids, see exactly the grids they hold an active assignment (or liaison
    role) on (GR-8) — even one owned by their parent branch, since the assignment itself was made
    by someone whose scope covers the grid."""

    def for_actor(self, actor, *, perm=None):
        from grids.permissions import Perm

        qs = super().for_actor(actor, perm=perm)
        if qs.query.is_empty() or actor.has_perm_code(Perm.GRID_VIEW_SUBTREE):
            return qs
        if actor.has_perm_code(Perm.GRID_VIEW_OWN):
            today = timezone.localdate()
            own = GridAssignment.objects.filter(person=actor, starts_on__lte=today).filter(
                Q(ends_on__isnull=True) | Q(ends_on__gt=today)
            )
            liaison = GridLiaison.objects.filter(user=actor, is_active=True)
            return self.filter(Q(pk__in=own.values("grid_id")) | Q(pk__in=liaison.values("grid_id")))
        return qs.none()


class Grid(models.Model):
    """A grid (网格): a physical area of the admin hierarchy or a virtual one (a business district,
    an industrial park…), owned by an institution and worked by its assigned people."""

    scope_institution_field = "institution"

    kind = models.CharField(_("网格类型"), max_length=16, choices=GridKind.choices)
    level = models.CharField(_("层级"), max_length=16, choices=GridLevel.choices, blank=True, default="", db_index=True)
    virtual_type = models.CharField(_("虚拟网格类型"), max_length=24, choices=VirtualType.choices, blank=True, default="")
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级网格"))
    code = models.CharField(_("网格编码"), max_length=40, unique=True)
    name = models.CharField(_("网格名称"), max_length=100)
    business_lines = ArrayField(models.CharField(max_length=16, choices=BusinessLine.choices), default=list, blank=True, verbose_name=_("业务条线"))
    institution = models.ForeignKey("gis_core.Institution", models.PROTECT, related_name="grids", verbose_name=_("所属机构"))
    division = models.ForeignKey("gis_core.AdminDivision", models.SET_NULL, null=True, blank=True, related_name="grids", verbose_name=_("对应行政区划"))
    geom = models.MultiPolygonField(srid=4326)
    area_m2 = models.FloatField(_("面积（平方米）"), default=0)
    status = models.CharField(_("状态"), max_length=16, choices=GridStatus.choices, default=GridStatus.ACTIVE, db_index=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    description = models.TextField(_("说明"), blank=True)
    rating_grade = models.CharField(_("评级"), max_length=1, choices=Grade.choices, blank=True, default="")
    rating_score = models.FloatField(_("评分"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager.from_queryset(GridQuerySet)()

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]
        indexes = [models.Index(fields=["parent", "status"]), models.Index(fields=["kind", "level", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="physical") & ~Q(level="") & Q(virtual_type=""))
                | (Q(kind="virtual") & Q(level="") & ~Q(virtual_type="")),
                name="grid_kind_level_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"


class GridHistory(models.Model):
    """One change of a grid: what it was and became, who, when and why (GR-4)."""

    scope_institution_field = "grid__institution"

    grid = models.ForeignKey(Grid, models.CASCADE, related_name="history")
    version = models.PositiveIntegerField()
    action = models.CharField(max_length=24, choices=HistoryAction.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    geom_before = models.MultiPolygonField(srid=4326, null=True, blank=True)
    geom_after = models.MultiPolygonField(srid=4326, null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]


class GridAssignment(models.Model):
    """定格-定岗-定人-定责 (GR-5): a person in a post on a grid, with a responsibility, over a
    period. One RESPONSIBLE person per grid at a time (a partial unique index); history kept by
    closing rows (ends_on) instead of deleting them."""

    scope_institution_field = "grid__institution"

    grid = models.ForeignKey(Grid, models.CASCADE, related_name="assignments")
    post = models.CharField(_("岗位"), max_length=16, choices=GridPost.choices)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="grid_assignments", verbose_name=_("人员"))
    responsibility = models.CharField(_("职责"), max_length=255, blank=True)
    starts_on = models.DateField(_("开始日期"), default=timezone.localdate)
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["grid", "-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid"], condition=Q(post="responsible", ends_on__isnull=True), name="one_responsible_per_grid"
            ),
            models.UniqueConstraint(
                fields=["grid", "person", "post"], condition=Q(ends_on__isnull=True), name="one_open_assignment_per_post"
            ),
        ]


class GridLiaison(models.Model):
    """A grid liaison (金融三员, GR-9): an outside helper — village cadre, government grid officer,
    owners' committee member — who may record, visit or run activities within the rights given."""

    scope_institution_field = "grid__institution"

    grid = models.ForeignKey(Grid, models.CASCADE, related_name="liaisons")
    name = models.CharField(_("姓名"), max_length=64)
    liaison_type = models.CharField(_("类型"), max_length=24, choices=LiaisonType.choices)
    organisation = models.CharField(_("所在单位"), max_length=100, blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    allowed_actions = ArrayField(models.CharField(max_length=16), default=list, blank=True, verbose_name=_("授权事项"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="liaison_roles")
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["grid", "name"]


class GridTransfer(models.Model):
    """A record of moving a grid's resources from one manager to another (GR-6), with what each
    participating app moved."""

    scope_institution_field = "grid__institution"

    grid = models.ForeignKey(Grid, models.PROTECT, related_name="transfers")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    reason = models.CharField(_("移交原因"), max_length=255, blank=True)
    moved = models.JSONField(_("移交内容"), default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at"]


class GridGenerationJob(models.Model):
    """A background generation of child grids (GR-10). Produces drafts a manager reviews before
    they replace anything."""

    scope_institution_field = "parent__institution"

    parent = models.ForeignKey(Grid, models.CASCADE, related_name="generation_jobs")
    method = models.CharField(max_length=24, choices=GenerationMethod.choices)
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at"]


class GridDraft(models.Model):
    """One proposed child grid of a generation job."""

    scope_institution_field = "job__parent__institution"

    job = models.ForeignKey(GridGenerationJob, models.CASCADE, related_name="drafts")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=100)
    division = models.ForeignKey("gis_core.AdminDivision", models.SET_NULL, null=True, blank=True, related_name="+")
    geom = models.MultiPolygonField(srid=4326)
    area_m2 = models.FloatField(default=0)
    stats = models.JSONField(default=dict, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["code"]


class RatingScheme(models.Model):
    """Configurable rating (GR-7): weighted dimensions and grade thresholds.

    dimensions: [{"key": "customers_formal", "label": "正式客户数", "weight": 0.3, "difficulty": false}, ...]
    thresholds: {"A": 80, "B": 60, "C": 40} (score ≥ threshold; below C is D)
    """

    name = models.CharField(_("方案名称"), max_length=100)
    dimensions = models.JSONField(_("维度"), default=list)
    thresholds = models.JSONField(_("等级阈值"), default=dict)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_active", "-created_at"]


class GridRating(models.Model):
    """A computed rating of one grid under one scheme, with the per-dimension explanation."""

    scope_institution_field = "grid__institution"

    grid = models.ForeignKey(Grid, models.CASCADE, related_name="ratings")
    scheme = models.ForeignKey(RatingScheme, models.CASCADE, related_name="ratings")
    score = models.FloatField()
    grade = models.CharField(max_length=1, choices=Grade.choices)
    explanation = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager()

    class Meta:
        ordering = ["-computed_at"]
        constraints = [models.UniqueConstraint(fields=["grid", "scheme"], name="one_rating_per_grid_scheme")]
