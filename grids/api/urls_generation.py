"""API routes of grids: generation part (included by grids/api/urls.py), GR-10."""
from django.urls import path

from grids.api import generation

urlpatterns: list = [
    path("<int:pk>/generate/", generation.GridGenerateApi.as_view(), name="grid-generate"),
    path("<int:pk>/jobs/", generation.GridGenerationJobListApi.as_view(), name="grid-generation-jobs"),
    path("jobs/<int:pk>/", generation.GenerationJobDetailApi.as_view(), name="generation-job-detail"),
    path("jobs/<int:pk>/apply/", generation.GenerationJobApplyApi.as_view(), name="generation-job-apply"),
    path("jobs/<int:pk>/discard/", generation.GenerationJobDiscardApi.as_view(), name="generation-job-discard"),
]
