"""Page routes of crm (mounted at /crm/). Each area adds its pages here."""
from django.urls import path

from crm import import_views
from crm import segment_views

urlpatterns = [
    path("imports/", import_views.imports_page, name="crm-imports"),
    path("segments/", segment_views.segments_page, name="crm-segments"),
]
