"""API routes of tiles (mounted under /api/tiles/)."""
from django.urls import path  # noqa: F401

app_name = "tiles_api"
urlpatterns: list = []
