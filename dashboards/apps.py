from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """War room, cockpit and analyst reports (DB-*). Reads from the domain apps."""

    name = "dashboards"
    default_auto_field = "django.db.models.BigAutoField"
