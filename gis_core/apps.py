from django.apps import AppConfig


class GisCoreConfig(AppConfig):
    """Everything the domain apps depend on: organisation, users, roles, scope, audit, CRS, places."""

    name = "gis_core"
    verbose_name = "GIS core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gis_core.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
