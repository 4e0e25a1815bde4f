"""URLconf for the re-authentication tests: the project's routes plus two guarded views."""
from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns
from gis_core.auth_guards import require_recent_auth


class CriticalApi(APIView):
    permission_classes = [IsAuthenticated]

    @require_recent_auth
    def post(self, request):
        return Response({"done": True})


class CriticalCheckApi(APIView):
    """The call form: `require_recent_auth(request)` inside the view."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        require_recent_auth(request)
        return Response({"done": True})


@require_recent_auth
def critical_page(request):
    return HttpResponse("done")


urlpatterns = [
    path("api/test-critical/", CriticalApi.as_view()),
    path("api/test-critical-check/", CriticalCheckApi.as_view()),
    path("test-critical/", critical_page),
    *project_urlpatterns,
]
