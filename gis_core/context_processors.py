"""Template context: the navigation menu for the signed-in user's roles."""
from __future__ import annotations

from gis_core.navigation import menu_for


def navigation(request):
    user = getattr(request, "user", None)
    return {"nav_menu": menu_for(user) if user is not None and user.is_authenticated else []}
