"""API routes of grids: generation part (included by grids/api/urls.py)."""
from django.urls import path  # noqa: F401

urlpatterns: list = []
