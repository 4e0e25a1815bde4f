"""API routes of crm (mounted under /api/crm/)."""
from django.urls import path  # noqa: F401

app_name = "crm_api"
urlpatterns: list = []
