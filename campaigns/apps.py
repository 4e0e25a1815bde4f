from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Campaigns, equity and ticketing (CA-*, EQ-*, TK-*)."""

    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"
