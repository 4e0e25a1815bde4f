"""API routes of gis_core (mounted under /api/)."""
from django.urls import path

from gis_core.api import auth as auth_api
from gis_core.api import geocoding
from gis_core.api import organisation
from gis_core.api import places

app_name = "gis_core_api"
urlpatterns: list = []

# organisation, users, audit, dictionaries, calendar (ORG-1, ORG-2, ORG-5, ORG-6, ORG-7)
urlpatterns += [
    path("institutions/", organisation.InstitutionListApi.as_view(), name="institution-list"),
    path("institutions/<int:pk>/", organisation.InstitutionDetailApi.as_view(), name="institution-detail"),
    path("users/", organisation.UserListApi.as_view(), name="user-list"),
    path("users/<int:pk>/", organisation.UserDetailApi.as_view(), name="user-detail"),
    path("users/<int:pk>/roles/", organisation.UserRolesApi.as_view(), name="user-roles"),
    path("users/<int:pk>/password-reset/", organisation.UserPasswordResetApi.as_view(), name="user-password-reset"),
    path("roles/", organisation.RoleListApi.as_view(), name="role-list"),
    path("audit/", organisation.AuditEntryListApi.as_view(), name="audit-list"),
    path("audit/export/", organisation.AuditEntryExportApi.as_view(), name="audit-export"),
    path("audit/<int:pk>/", organisation.AuditEntryDetailApi.as_view(), name="audit-detail"),
    path("dictionaries/", organisation.DictionaryListApi.as_view(), name="dictionary-list"),
    path("dictionaries/<str:code>/", organisation.DictionaryDetailApi.as_view(), name="dictionary-detail"),
    path("calendar/", organisation.CalendarApi.as_view(), name="calendar"),
]

# sign-in, passwords, re-authentication, mobile tokens (SEC-1 .. SEC-4)
urlpatterns += [
    path("auth/login/", auth_api.AuthLoginApi.as_view(), name="auth-login"),
    path("auth/logout/", auth_api.AuthLogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", auth_api.AuthMeApi.as_view(), name="auth-me"),
    path("auth/password/", auth_api.AuthPasswordChangeApi.as_view(), name="auth-password"),
    path("auth/reauth/", auth_api.AuthReauthApi.as_view(), name="auth-reauth"),
    path("auth/token/", auth_api.AuthTokenIssueApi.as_view(), name="auth-token"),
    path("auth/token/revoke/", auth_api.AuthTokenRevokeApi.as_view(), name="auth-token-revoke"),
]

# admin divisions, POIs and the map's keyword search (GC-4, GC-5)
urlpatterns += [
    path("divisions/", places.DivisionListApi.as_view(), name="division-list"),
    path("divisions/tree/", places.DivisionTreeApi.as_view(), name="division-tree"),
    path("divisions/<str:code>/", places.DivisionDetailApi.as_view(), name="division-detail"),
    path("pois/", places.PoiListApi.as_view(), name="poi-list"),
    path("search/", places.PlaceSearchApi.as_view(), name="place-search"),
]

# geocoding: address → point, point → admin units and nearest POI (GC-2)
urlpatterns += [
    path("geocode/", geocoding.GeocodeApi.as_view(), name="geocode"),
    path("reverse-geocode/", geocoding.ReverseGeocodeApi.as_view(), name="reverse-geocode"),
]
