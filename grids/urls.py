"""Page routes of grids (mounted at /grids/)."""
from django.urls import path

from grids import views

urlpatterns = [
    path("editor/", views.grid_editor, name="grid-editor"),
]
