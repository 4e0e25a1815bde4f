from django.apps import AppConfig


class TilesConfig(AppConfig):
    """Vector tiles (MVT) and TileJSON for every map layer (TL-*)."""

    name = "tiles"
    default_auto_field = "django.db.models.BigAutoField"
