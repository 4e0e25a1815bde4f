"""Page routes of gis_core."""
from django.urls import path

from gis_core import auth_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.login_view, name="login"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("password/change/", auth_views.password_change_view, name="password_change"),
    path("reauth/", auth_views.reauth_view, name="reauth"),
]
