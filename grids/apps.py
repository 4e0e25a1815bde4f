from django.apps import AppConfig


class GridsConfig(AppConfig):
    """Grids (网格): physical and virtual grids, assignment, transfer, rating (GR-*)."""

    name = "grids"
    default_auto_field = "django.db.models.BigAutoField"
