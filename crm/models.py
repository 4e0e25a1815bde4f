"""Models of crm (CR-1 .. CR-10, GC-3): customers and what hangs on them.

Sensitive values (ID numbers, phones) are SM4-encrypted with HMAC-SM3 hashes for exact lookups and
shown masked. Locations are WGS-84; the grid of each level is kept by grids.membership.
"""
from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.choices import (
    ApprovalStatus,
    ArchiveType,
    CustomerKind,
    CustomerStatus,
    Gender,
    GeocodeStatus,
    IdType,
    ImportMode,
    ImportStatus,
    ProductCategory,
    ReminderKind,
    ReminderStatus,
    TagKind,
    Visibility,
)
from gis_core.fields import EncryptedTextField
from gis_core.scope import ScopedManager, ScopedQuerySet


class CustomerQuerySet(ScopedQuerySet):
    """Customers are scoped by institution subtree; an account manager (or grid liaison) who may only
    see their own sees the customers they manage plus those placed in grids they are assigned to."""

    def for_actor(self, actor, *, perm=None):
        from crm.permissions import Perm
        from grids.models import Grid

        qs = super().for_actor(actor, perm=perm)
        if qs.query.is_empty() or actor.has_perm_code(Perm.CUSTOMER_VIEW_SUBTREE):
            return qs
        if actor.has_perm_code(Perm.CUSTOMER_VIEW_OWN):
            own_grids = Grid.objects.for_actor(actor).values("pk")
            return qs.filter(
                Q(manager=actor)
                | Q(grid_district__in=own_grids)
                | Q(grid_street__in=own_grids)
                | Q(grid_community__in=own_grids)
                | Q(grid_building__in=own_grids)
            )
        return qs.none()


class Customer(models.Model):
    """An individual or corporate customer, formal (正式) or potential (潜在), owned by an institution
    and looked after by one relationship manager (管户)."""

    scope_institution_field = "institution"

    kind = models.CharField(_("客户类型"), max_length=16, choices=CustomerKind.choices)
    status = models.CharField(_("客户状态"), max_length=16, choices=CustomerStatus.choices, db_index=True)
    archive_type = models.CharField(_("建档类型"), max_length=24, choices=ArchiveType.choices, blank=True, default="")
    name = models.CharField(_("名称"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=24, choices=IdType.choices, blank=True, default="")
    id_number = EncryptedTextField(_("证件号码"), blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    phone = EncryptedTextField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True, default="")
    address = models.CharField(_("地址"), max_length=255, blank=True)
    location = models.PointField(_("位置"), srid=4326, null=True, blank=True)
    geocode_status = models.CharField(_("定位状态"), max_length=16, choices=GeocodeStatus.choices, default=GeocodeStatus.PENDING, db_index=True)
    geocode_level = models.CharField(_("定位精度"), max_length=16, blank=True, default="")
    geocode_confidence = models.FloatField(_("定位置信度"), null=True, blank=True)
    geocode_source = models.CharField(_("定位来源"), max_length=16, blank=True, default="")
    input_crs = models.CharField(_("原始坐标系"), max_length=8, blank=True, default="")
    institution = models.ForeignKey("gis_core.Institution", models.PROTECT, related_name="customers", verbose_name=_("所属机构"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="managed_customers", verbose_name=_("管户客户经理")
    )
    import_batch = models.ForeignKey("crm.ImportBatch", models.SET_NULL, null=True, blank=True, related_name="customers")
    # Kept by grids.membership (one bulk statement), never set by hand. No database FK constraint:
    # grids are retired, never deleted, and the constraint checks cost 24 % of a 1 M-row re-placement.
    grid_district = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False, db_constraint=False)
    grid_street = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False, db_constraint=False)
    grid_community = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False, db_constraint=False)
    grid_building = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False, db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager.from_queryset(CustomerQuerySet)()

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["institution", "status"]),
            models.Index(fields=["manager", "status"]),
            models.Index(fields=["geocode_status", "geocode_confidence"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "id_number_hash"], condition=~Q(id_number_hash=""), name="customer_unique_id_per_institution"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CustomerLocationChange(models.Model):
    """Address correction (地址纠偏, GC-3): a pin moved by hand — old and new point, who, when, why."""

    scope_institution_field = "customer__institution"

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="location_changes")
    old_location = models.PointField(srid=4326, null=True, blank=True)
    new_location = models.PointField(srid=4326)
    old_status = models.CharField(max_length=16, blank=True)
    reason = models.CharField(_("纠偏原因"), max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]


class Product(models.Model):
    """A bank product (CR-9)."""

    code = models.CharField(_("产品代码"), max_length=32, unique=True)
    name = models.CharField(_("产品名称"), max_length=100)
    category = models.CharField(_("产品类别"), max_length=16, choices=ProductCategory.choices)
    description = models.TextField(_("说明"), blank=True)
    is_active = models.BooleanField(_("在售"), default=True)

    class Meta:
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return self.name


class CustomerProduct(models.Model):
    """A product a customer holds, with its balance and dates (for maturity reminders)."""

    scope_institution_field = "customer__institution"

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="holdings")
    product = models.ForeignKey(Product, models.PROTECT, related_name="holdings")
    opened_on = models.DateField(_("开户日期"), null=True, blank=True)
    matures_on = models.DateField(_("到期日期"), null=True, blank=True, db_index=True)
    balance = models.DecimalField(_("余额"), max_digits=16, decimal_places=2, default=0)
    is_overdue = models.BooleanField(_("逾期"), default=False)

    objects = ScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "product"], name="customer_product_unique")]


class BalanceSnapshot(models.Model):
    """A customer's total balance on a date; reminders compare consecutive snapshots (CR-7)."""

    scope_institution_field = "customer__institution"

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="balance_snapshots")
    date = models.DateField()
    total_balance = models.DecimalField(max_digits=16, decimal_places=2)

    objects = ScopedManager()

    class Meta:
        ordering = ["customer", "-date"]
        constraints = [models.UniqueConstraint(fields=["customer", "date"], name="balance_snapshot_unique")]


class Tag(models.Model):
    """A customer tag (CR-5): manual, or computed from a rule (the same filter language as segments)."""

    code = models.CharField(_("标签代码"), max_length=64, unique=True)
    name = models.CharField(_("标签名称"), max_length=64)
    category = models.CharField(_("标签分类"), max_length=64, blank=True)
    kind = models.CharField(_("标签类型"), max_length=16, choices=TagKind.choices, default=TagKind.MANUAL)
    rule = models.JSONField(_("规则"), default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    scope_institution_field = "customer__institution"

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="customer_tags")
    tag = models.ForeignKey(Tag, models.CASCADE, related_name="customer_tags")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_unique")]


class ArchiveTemplate(models.Model):
    """Collection standard for an archive type (建档, CR-2), configured by an administrator.

    fields: [{"key": "land_mu", "label": "承包土地（亩）", "type": "decimal", "required": true,
              "min": 0, "max": 10000, "choices": [...], "regex": "..."}]
    """

    archive_type = models.CharField(_("建档类型"), max_length=24, choices=ArchiveType.choices)
    name = models.CharField(_("模板名称"), max_length=100)
    fields = models.JSONField(_("采集字段"), default=list)
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["archive_type", "-version"]


class Archive(models.Model):
    """A customer's archive of one type, filled against a template version."""

    scope_institution_field = "customer__institution"

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="archives")
    archive_type = models.CharField(max_length=24, choices=ArchiveType.choices)
    template = models.ForeignKey(ArchiveTemplate, models.PROTECT, related_name="archives")
    data = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "archive_type"], name="archive_one_per_type")]


class ListTemplate(models.Model):
    """A list template (名单模板, CR-3): the columns of an import file and where each goes.

    columns: [{"key": "name", "label": "客户名称", "type": "text", "required": true,
               "max_length": 100, "maps_to": "customer.name"}, ...]
    """

    scope_institution_field = "institution"

    name = models.CharField(_("模板名称"), max_length=100)
    description = models.CharField(_("说明"), max_length=255, blank=True)
    customer_kind = models.CharField(max_length=16, choices=CustomerKind.choices, default=CustomerKind.INDIVIDUAL)
    customer_status = models.CharField(max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.POTENTIAL)
    archive_type = models.CharField(max_length=24, choices=ArchiveType.choices, blank=True, default="")
    columns = models.JSONField(_("列定义"), default=list)
    institution = models.ForeignKey("gis_core.Institution", models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at"]


class ImportBatch(models.Model):
    """One uploaded list: preview, validation, commit and geocoding with progress (CR-3)."""

    scope_institution_field = "institution"

    name = models.CharField(_("批次名称"), max_length=100)
    template = models.ForeignKey(ListTemplate, models.PROTECT, related_name="batches")
    institution = models.ForeignKey("gis_core.Institution", models.PROTECT, related_name="+")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED, db_index=True)
    mode = models.CharField(max_length=16, choices=ImportMode.choices, blank=True, default="")
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    invalid_rows = models.PositiveIntegerField(default=0)
    committed_rows = models.PositiveIntegerField(default=0)
    geocoded_rows = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at"]


class ImportRow(models.Model):
    """A staged row of a batch with its cell errors, until commit."""

    scope_institution_field = "batch__institution"

    batch = models.ForeignKey(ImportBatch, models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    data = models.JSONField(default=dict)
    errors = models.JSONField(default=dict, blank=True)
    customer = models.ForeignKey(Customer, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["batch", "row_number"]
        constraints = [models.UniqueConstraint(fields=["batch", "row_number"], name="import_row_unique")]


class Segment(models.Model):
    """A customer segment (客群, CR-4): a definition (tags, attributes, products, grid subtree,
    location), visible to its owner or to the institution subtree, approved before use."""

    scope_institution_field = "institution"

    name = models.CharField(_("客群名称"), max_length=100)
    description = models.CharField(_("说明"), max_length=255, blank=True)
    definition = models.JSONField(_("规则"), default=dict)
    visibility = models.CharField(_("可见范围"), max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    status = models.CharField(_("审批状态"), max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.DRAFT)
    institution = models.ForeignKey("gis_core.Institution", models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    member_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    source_batch = models.ForeignKey(ImportBatch, models.SET_NULL, null=True, blank=True, related_name="segments")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at"]


class SegmentMember(models.Model):
    """Materialised membership, kept incrementally (insert the new, delete the gone)."""

    segment = models.ForeignKey(Segment, models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_unique")]


class SegmentApproval(models.Model):
    """The approval log of a segment."""

    segment = models.ForeignKey(Segment, models.CASCADE, related_name="approvals")
    action = models.CharField(max_length=16)
    comment = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]


class Reminder(models.Model):
    """A care reminder for the responsible manager (CR-7); one per customer, kind, date and title."""

    scope_institution_field = "customer__institution"

    customer = models.ForeignKey(Customer, models.CASCADE, related_name="reminders")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    due_date = models.DateField(db_index=True)
    title = models.CharField(max_length=100)
    detail = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=8, choices=ReminderStatus.choices, default=ReminderStatus.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [models.UniqueConstraint(fields=["customer", "kind", "due_date", "title"], name="reminder_unique")]
