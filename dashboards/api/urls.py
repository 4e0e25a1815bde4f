"""API routes of dashboards (mounted under /api/dashboards/)."""
from django.urls import path  # noqa: F401

app_name = "dashboards_api"
urlpatterns: list = []
