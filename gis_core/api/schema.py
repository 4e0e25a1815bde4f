"""drf-spectacular extensions: describe the bearer-token authentication in the OpenAPI schema."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "gis_core.authentication.ExpiringTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Expiring token from POST /api/auth/token/ (mobile app). Browser pages use the session cookie.",
        }
