"""Helpers for the auth tests: a movable clock and sign-in through the real HTTP flows."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator
from unittest import mock

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from gis_core.tests.factories import DEFAULT_PASSWORD


@contextmanager
def clock(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Everything that asks `django.utils.timezone.now()` sees `moment` (freezegun is not installed)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def later(**delta) -> dt.datetime:
    return timezone.now() + dt.timedelta(**delta)


def api_session(user, password: str = DEFAULT_PASSWORD, **client_kwargs) -> APIClient:
    """An APIClient signed in through POST /api/auth/login/ (a real session, all rules apply)."""
    client = APIClient(**client_kwargs)
    response = client.post("/api/auth/login/", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return client


def page_session(user, password: str = DEFAULT_PASSWORD) -> Client:
    """A browser-like Client signed in through the login page."""
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, response.content
    return client


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def issue_token(user, password: str = DEFAULT_PASSWORD, device_name: str = "测试手机") -> str:
    response = APIClient().post(
        "/api/auth/token/", {"username": user.username, "password": password, "device_name": device_name}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["token"]
