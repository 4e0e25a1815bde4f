"""API routes of grids: core part (included by grids/api/urls.py)."""
from django.urls import path  # noqa: F401

urlpatterns: list = []
