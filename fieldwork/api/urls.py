"""API routes of fieldwork (mounted under /api/fieldwork/)."""
from django.urls import path  # noqa: F401

app_name = "fieldwork_api"
urlpatterns: list = []
