"""API routes of campaigns (mounted under /api/campaigns/)."""
from django.urls import path  # noqa: F401

app_name = "campaigns_api"
urlpatterns: list = []
