"""API routes of crm (mounted under /api/crm/). Each area owns one module, included here."""
from crm.api import urls_customers, urls_imports, urls_reminders, urls_segments

app_name = "crm_api"
urlpatterns = [
    *urls_imports.urlpatterns,
    *urls_customers.urlpatterns,
    *urls_segments.urlpatterns,
    *urls_reminders.urlpatterns,
]
