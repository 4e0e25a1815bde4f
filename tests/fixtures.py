"""Shared fixtures: a small bank with two branches, each with a sub-branch, and users per role.

    head office HO
    ├── branch A ── sub-branch A1
    └── branch B ── sub-branch B1
"""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from gis_core.choices import InstitutionKind, RoleCode
from gis_core.tests.factories import DEFAULT_PASSWORD, InstitutionFactory, UserFactory


@pytest.fixture
def bank(db):
    head = InstitutionFactory(code="HO", name="长沙农商银行总行", kind=InstitutionKind.HEAD_OFFICE)
    branch_a = InstitutionFactory(code="BA", name="芙蓉支行", kind=InstitutionKind.BRANCH, parent=head)
    branch_b = InstitutionFactory(code="BB", name="岳麓支行", kind=InstitutionKind.BRANCH, parent=head)
    sub_a = InstitutionFactory(code="BA1", name="五里牌分理处", kind=InstitutionKind.SUB_BRANCH, parent=branch_a)
    sub_b = InstitutionFactory(code="BB1", name="桔子洲分理处", kind=InstitutionKind.SUB_BRANCH, parent=branch_b)
    return {"head": head, "a": branch_a, "b": branch_b, "a1": sub_a, "b1": sub_b}


@pytest.fixture
def make_user(db):
    """make_user(institution, *role_codes, **fields) -> User with DEFAULT_PASSWORD."""

    def _make(institution, *roles, **fields):
        return UserFactory(institution=institution, roles=[str(r) for r in roles], **fields)

    return _make


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def login(api_client):
    """login(user) -> an APIClient authenticated as that user (forced authentication, no session rules)."""

    def _login(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _login


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def roles():
    return RoleCode


def ensure_roles() -> None:
    """Put back the seven roles seeded by migration gis_core 0002 (a transactional test's flush
    removes them)."""
    import importlib

    from gis_core.models import Role

    for code, name, description in importlib.import_module("gis_core.migrations.0002_seed_roles").ROLES:
        Role.objects.get_or_create(code=code, defaults={"name": name, "description": description})


@pytest.fixture(autouse=True)
def _reseed_after_flush(request):
    """Transactional tests (live_server, threads, real workers) run on a database that the previous
    transactional test flushed: re-seed the migration data they rely on. Used instead of
    `serialized_rollback`, which clashes with the content types Django re-creates after a flush."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0] is True)):
        request.getfixturevalue("transactional_db")
        ensure_roles()
