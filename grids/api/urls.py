"""API routes of grids (mounted under /api/grids/). Each part owns its own module."""
from grids.api import urls_core, urls_generation, urls_rating

app_name = "grids_api"
urlpatterns = [*urls_core.urlpatterns, *urls_generation.urlpatterns, *urls_rating.urlpatterns]
