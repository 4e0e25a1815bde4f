"""Page routes of gis_core."""
from django.urls import path

from gis_core import auth_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.login_view, name="login"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("password/change/", auth_views.password_change_view, name="password_change"),
    path("reauth/", auth_views.reauth_view, name="reauth"),
    # back-office pages (ORG-1, ORG-2, ORG-5, ORG-6, ORG-7)
    path("org/institutions/", views.institutions, name="institutions"),
    path("org/users/", views.users, name="users"),
    path("org/audit/", views.audit, name="audit"),
    path("org/settings/", views.org_settings, name="org-settings"),
]
