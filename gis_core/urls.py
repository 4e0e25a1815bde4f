"""Page routes of gis_core."""
from django.urls import path

from gis_core import views

urlpatterns = [
    path("", views.home, name="home"),
]
