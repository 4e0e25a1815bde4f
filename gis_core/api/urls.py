"""API routes of gis_core (mounted under /api/)."""
from django.urls import path

from gis_core.api import organisation

app_name = "gis_core_api"
urlpatterns: list = []

# organisation, users, audit, dictionaries, calendar (ORG-1, ORG-2, ORG-5, ORG-6, ORG-7)
urlpatterns += [
    path("institutions/", organisation.InstitutionListApi.as_view(), name="institution-list"),
    path("institutions/<int:pk>/", organisation.InstitutionDetailApi.as_view(), name="institution-detail"),
    path("users/", organisation.UserListApi.as_view(), name="user-list"),
    path("users/<int:pk>/", organisation.UserDetailApi.as_view(), name="user-detail"),
    path("users/<int:pk>/roles/", organisation.UserRolesApi.as_view(), name="user-roles"),
    path("roles/", organisation.RoleListApi.as_view(), name="role-list"),
    path("audit/", organisation.AuditEntryListApi.as_view(), name="audit-list"),
    path("audit/export/", organisation.AuditEntryExportApi.as_view(), name="audit-export"),
    path("audit/<int:pk>/", organisation.AuditEntryDetailApi.as_view(), name="audit-detail"),
    path("dictionaries/", organisation.DictionaryListApi.as_view(), name="dictionary-list"),
    path("dictionaries/<str:code>/", organisation.DictionaryDetailApi.as_view(), name="dictionary-detail"),
    path("calendar/", organisation.CalendarApi.as_view(), name="calendar"),
]
