from django.apps import AppConfig


class CrmConfig(AppConfig):
    """Customers (客户): customers, archives, list imports, segments, tags, reminders (CR-*)."""

    name = "crm"
    default_auto_field = "django.db.models.BigAutoField"
