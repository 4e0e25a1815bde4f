"""API routes of list templates and imports (CR-3), included by crm/api/urls.py under /api/crm/."""
from django.urls import path

from crm.api import imports as views

urlpatterns = [
    path("list-templates/", views.ListTemplateListApi.as_view(), name="list-template-list"),
    path("list-templates/<int:pk>/", views.ListTemplateDetailApi.as_view(), name="list-template-detail"),
    path("list-templates/<int:pk>/xlsx/", views.ListTemplateXlsxApi.as_view(), name="list-template-xlsx"),
    path("imports/", views.ImportBatchListApi.as_view(), name="import-list"),
    path("imports/<int:pk>/", views.ImportBatchDetailApi.as_view(), name="import-detail"),
    path("imports/<int:pk>/rows/", views.ImportRowListApi.as_view(), name="import-rows"),
    path("imports/<int:pk>/errors.xlsx", views.ImportErrorsXlsxApi.as_view(), name="import-errors-xlsx"),
    path("imports/<int:pk>/commit/", views.ImportBatchCommitApi.as_view(), name="import-commit"),
    path("imports/<int:pk>/discard/", views.ImportBatchDiscardApi.as_view(), name="import-discard"),
    path("imports/<int:pk>/save-as-segment/", views.ImportBatchSegmentApi.as_view(), name="import-save-as-segment"),
]
