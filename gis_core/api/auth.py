"""Sign-in API for the web pages' JavaScript (session) and the mobile app (bearer token).

Thin views over gis_core.services.auth and gis_core.session_policy: parse input (with length
limits, SEC-7), call one service, answer with the signed-in user's profile or nothing. Every
failure of a login or token request answers the same vague 401 (SEC-2).
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gis_core.errors import ValidationFailed
from gis_core.masking import mask_phone
from gis_core.middleware import client_ip
from gis_core.models import ApiToken
from gis_core.passwords import password_change_required, password_expires_at
from gis_core.services.auth import login_attempt, password_change, reauth_attempt, token_issue, token_revoke
from gis_core.session_policy import (
    mark_reauthenticated,
    session_login,
    session_logout,
    session_password_changed,
)

TAGS = ["auth"]


# --- input --------------------------------------------------------------------------------------


def _password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        max_length=128, trim_whitespace=False, style={"input_type": "password"}, **kwargs
    )


class AuthLoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = _password_field()


class AuthTokenInputSerializer(AuthLoginInputSerializer):
    device_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class AuthPasswordChangeInputSerializer(serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field()


class AuthReauthInputSerializer(serializers.Serializer):
    password = _password_field()


# --- output -------------------------------------------------------------------------------------


class AuthInstitutionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class AuthPreviousLoginSerializer(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    ip = serializers.CharField(allow_null=True)


class AuthMeSerializer(serializers.Serializer):
    """The signed-in user as the pages and the app need it. `must_change_password` is true for an
    initial or reset password and for an expired one; the phone is masked."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    employee_no = serializers.CharField(allow_null=True)
    phone = serializers.SerializerMethodField()
    institution = AuthInstitutionSerializer(allow_null=True)
    roles = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()
    previous_login = serializers.SerializerMethodField()
    must_change_password = serializers.SerializerMethodField()
    password_expires_at = serializers.SerializerMethodField()

    def get_phone(self, user) -> str:
        return mask_phone(user.phone)

    def get_roles(self, user) -> list[str]:
        return sorted(user.role_codes)

    def get_permissions(self, user) -> list[str]:
        return sorted(user.permission_codes)

    @extend_schema_field(AuthPreviousLoginSerializer(allow_null=True))
    def get_previous_login(self, user):
        if user.previous_login_at is None:
            return None
        return AuthPreviousLoginSerializer({"at": user.previous_login_at, "ip": user.previous_login_ip}).data

    def get_must_change_password(self, user) -> bool:
        return password_change_required(user)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_password_expires_at(self, user) -> str | None:
        expires_at = password_expires_at(user)
        return serializers.DateTimeField().to_representation(expires_at) if expires_at else None


class AuthTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("只显示这一次；请求时放在 Authorization: Bearer 头中"))
    token_type = serializers.CharField()
    prefix = serializers.CharField()
    expires_at = serializers.DateTimeField()
    must_change_password = serializers.BooleanField()


class AuthReauthSerializer(serializers.Serializer):
    auth_at = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()


_VAGUE_401 = OpenApiResponse(description="用户名或密码错误，或账户已被锁定 (code login_failed)")


def _me(user) -> dict:
    return AuthMeSerializer(user).data


# --- views --------------------------------------------------------------------------------------


class AuthLoginApi(APIView):
    """Session sign-in for the web JavaScript: starts a new session (new id, the user's only one)."""

    authentication_classes: list = []  # creates the session, so there is no session (or CSRF) yet
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        request=AuthLoginInputSerializer,
        responses={200: AuthMeSerializer, 400: None, 401: _VAGUE_401},
    )
    def post(self, request):
        data = AuthLoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = session_login(request._request, **data.validated_data)
        return Response(_me(user))


class AuthLogoutApi(APIView):
    """Signs out: ends the browser session, or revokes the bearer token the request carries."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, request=None, responses={204: None, 401: None})
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            token_revoke(actor=request.user, token=request.auth)
        else:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuthMeApi(APIView):
    """Who is signed in, with roles, permissions and the previous login (SEC-2)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, responses={200: AuthMeSerializer, 401: None})
    def get(self, request):
        return Response(_me(request.user))


class AuthPasswordChangeApi(APIView):
    """The signed-in user changes their password (SEC-1); this session or token stays valid."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS, request=AuthPasswordChangeInputSerializer, responses={200: AuthMeSerializer, 400: None}
    )
    def post(self, request):
        data = AuthPasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        user = password_change(user=request.user, keep_token=token, **data.validated_data)
        if token is None:
            session_password_changed(request._request, user)
        return Response(_me(user))


class AuthReauthApi(APIView):
    """Confirms the password again before a critical operation (SEC-4)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS, request=AuthReauthInputSerializer, responses={200: AuthReauthSerializer, 403: None}
    )
    def post(self, request):
        data = AuthReauthInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reauth_attempt(user=request.user, password=data.validated_data["password"])
        mark_reauthenticated(request)
        now = timezone.now()
        valid_until = now + dt.timedelta(minutes=settings.SECURITY_POLICY["REAUTH_MINUTES"])
        return Response(AuthReauthSerializer({"auth_at": now, "valid_until": valid_until}).data)


class AuthTokenIssueApi(APIView):
    """Token sign-in for the mobile app: same checks and lockout as the browser login."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        request=AuthTokenInputSerializer,
        responses={201: AuthTokenSerializer, 400: None, 401: _VAGUE_401},
    )
    def post(self, request):
        data = AuthTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = login_attempt(
            username=values["username"],
            password=values["password"],
            ip=client_ip(request._request),
            method="token",
        )
        token, key = token_issue(user=user, device_name=values["device_name"])
        body = {
            "token": key,
            "token_type": "Bearer",
            "prefix": token.prefix,
            "expires_at": token.expires_at,
            "must_change_password": password_change_required(user),
        }
        return Response(AuthTokenSerializer(body).data, status=status.HTTP_201_CREATED)


class AuthTokenRevokeApi(APIView):
    """Revokes the bearer token this request is made with (the app signs out)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAGS, request=None, responses={204: None, 400: None, 401: None})
    def post(self, request):
        if not isinstance(request.auth, ApiToken):
            raise ValidationFailed(_("此请求未使用接口令牌"), code="token_required")
        token_revoke(actor=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
