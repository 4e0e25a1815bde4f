from django.apps import AppConfig


class FieldworkConfig(AppConfig):
    """Field work (外勤): check-ins, footprints, plans, standardized actions, supervision (FW-*)."""

    name = "fieldwork"
    default_auto_field = "django.db.models.BigAutoField"
