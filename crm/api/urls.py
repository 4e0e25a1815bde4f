"""API routes of crm (mounted under /api/crm/). Each area owns one module, included here."""
import importlib

app_name = "crm_api"
urlpatterns: list = []
for _area in ("imports", "customers", "segments", "catalogue", "reminders"):
    try:
        urlpatterns += importlib.import_module(f"crm.api.urls_{_area}").urlpatterns
    except ModuleNotFoundError as exc:  # an area not written yet
        if exc.name != f"crm.api.urls_{_area}":
            raise
