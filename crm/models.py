"""Models of crm. Customers (CR-1): the foundation keeps only what the demo and the scope layer
need; the customers issue adds archives, tags, products, imports and geocoding status."""
from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from crm.choices import ArchiveType, CustomerKind, CustomerStatus
from gis_core.fields import EncryptedTextField
from gis_core.scope import ScopedManager


class Customer(models.Model):
    """An individual or corporate customer, formal (正式) or potential (潜在), owned by an institution
    and looked after by one relationship manager (管户). ID number and phone are stored SM4-encrypted
    with keyed hashes for exact lookups (SEC-5)."""

    scope_institution_field = "institution"

    kind = models.CharField(_("客户类型"), max_length=16, choices=CustomerKind.choices)
    status = models.CharField(_("客户状态"), max_length=16, choices=CustomerStatus.choices, db_index=True)
    archive_type = models.CharField(_("建档类型"), max_length=24, choices=ArchiveType.choices, blank=True, default="")
    name = models.CharField(_("名称"), max_length=100)
    id_number = EncryptedTextField(_("证件号码"), blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    phone = EncryptedTextField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    location = models.PointField(_("位置"), srid=4326, null=True, blank=True)
    institution = models.ForeignKey("gis_core.Institution", models.PROTECT, related_name="customers", verbose_name=_("所属机构"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="managed_customers", verbose_name=_("管户客户经理")
    )
    # Kept by grids.membership (one bulk statement), never set by hand.
    grid_district = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False)
    grid_street = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False)
    grid_community = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False)
    grid_building = models.ForeignKey("grids.Grid", models.SET_NULL, null=True, blank=True, related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["id"]
        indexes = [models.Index(fields=["institution", "status"])]

    def __str__(self) -> str:
        return self.name
