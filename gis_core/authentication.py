"""DRF authentication with expiring bearer tokens for the mobile app (stub)."""
from rest_framework.authentication import BaseAuthentication


class ExpiringTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return None
