"""Root URLs: pages, the REST API under /api/, health probes, OpenAPI schema and docs."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from gis_core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include("gis_core.api.urls")),
    *[path(f"api/{app}/", include(f"{app}.api.urls")) for app in settings.LOCAL_APPS if app != "gis_core"],
    path("grids/", include("grids.urls")),
    path("crm/", include("crm.urls")),
    path("", include("gis_core.urls")),
]
