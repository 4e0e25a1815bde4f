"""Enumerations of crm."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("个人客户")
    CORPORATE = "corporate", _("对公客户")


class CustomerStatus(models.TextChoices):
    FORMAL = "formal", _("正式客户")
    POTENTIAL = "potential", _("潜在客户")


class ArchiveType(models.TextChoices):
    NONE = "", _("未建档")
    FARM_HOUSEHOLD = "farm_household", _("农户")
    MERCHANT = "merchant", _("商户")
    MICRO_ENTERPRISE = "micro_enterprise", _("小微企业")
