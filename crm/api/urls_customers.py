"""API routes of address correction (GC-3), included by crm/api/urls.py under /api/crm/.

    customers/low-confidence/              customers whose location is unsure (paged)
    customers/<id>/location/               POST: move the pin
    customers/<id>/location-history/       the pin moves
"""
from django.urls import path

from crm.api import customers as views

urlpatterns = [
    path("customers/low-confidence/", views.CustomerLowConfidenceListApi.as_view(), name="customer-low-confidence"),
    path("customers/<int:pk>/location/", views.CustomerLocationMoveApi.as_view(), name="customer-location-move"),
    path("customers/<int:pk>/location-history/", views.CustomerLocationHistoryApi.as_view(), name="customer-location-history"),
]
