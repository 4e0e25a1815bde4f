"""API routes of grids (mounted under /api/grids/)."""
from django.urls import path  # noqa: F401

app_name = "grids_api"
urlpatterns: list = []
