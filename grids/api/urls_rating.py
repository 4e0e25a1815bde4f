"""API routes of grids: rating part (included by grids/api/urls.py, mounted under /api/grids/)."""
from django.urls import path

from grids.api import rating

urlpatterns: list = [
    path("rating/schemes/", rating.RatingSchemeListApi.as_view(), name="rating-scheme-list"),
    path("rating/schemes/<int:pk>/", rating.RatingSchemeDetailApi.as_view(), name="rating-scheme-detail"),
    path("rating/run/", rating.RatingRunStartApi.as_view(), name="rating-run"),
    path("rating/jobs/<uuid:job_id>/", rating.RatingJobDetailApi.as_view(), name="rating-job-detail"),
    path("grids/<int:pk>/rating/", rating.GridRatingDetailApi.as_view(), name="grid-rating"),
]
