"""Reusable test helper: check one endpoint against the four cases every endpoint must pass.

    anonymous      -> 401 (API) / redirect to login (page)
    no permission  -> 403
    out of scope   -> 404 for a detail, or absent from a list / empty
    allowed        -> the expected status, and the object present

Usage (any app's tests):

    from gis_core.testing import assert_scope_matrix
    assert_scope_matrix(
        url=f"/api/institutions/{inst.pk}/", kind="detail",
        allowed=leader_a, no_permission=liaison_a, out_of_scope=leader_b,
    )
    assert_scope_matrix(url="/api/institutions/", kind="list", object_id=inst.pk, ...)

`extract_ids` understands DRF pages ({"results": [...]}), GeoJSON ({"features": [...]}, also inside
"results"), and plain lists.
"""
from __future__ import annotations

from typing import Any, Callable

from rest_framework.test import APIClient


def client_for(user: Any | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def extract_ids(body: Any, id_field: str = "id") -> set[str]:
    """Object ids in a list response of any of the platform's shapes."""
    if isinstance(body, dict):
        if "results" in body:
            return extract_ids(body["results"], id_field)
        if "features" in body:
            ids = set()
            for f in body["features"]:
                fid = f.get("id", (f.get("properties") or {}).get(id_field))
                ids.add(str(fid))
            return ids
        return {str(body.get(id_field))} if id_field in body else set()
    if isinstance(body, list):
        return {str(item.get(id_field)) for item in body if isinstance(item, dict)}
    return set()


def assert_scope_matrix(
    *,
    url: str,
    allowed: Any,
    no_permission: Any | None,
    out_of_scope: Any | None,
    kind: str = "detail",
    object_id: Any = None,
    method: str = "get",
    data: Any = None,
    format: str | None = "json",
    allowed_status: int = 200,
    id_field: str = "id",
    check_allowed: Callable[[Any], None] | None = None,
) -> None:
    """Assert the anonymous / no-permission / out-of-scope / allowed matrix for one endpoint.

    kind "detail": out of scope must be 404. kind "list": out of scope must be 200 without
    `object_id`, and allowed must include it. Pass `no_permission=None` or `out_of_scope=None`
    only when that case cannot exist for the endpoint (say why in the test).
    """

    def call(user):
        client = client_for(user)
        kwargs = {"format": format} if data is not None and format else {}
        return getattr(client, method)(url, data, **kwargs) if data is not None else getattr(client, method)(url)

    response = call(None)
    assert response.status_code == 401, f"anonymous {method.upper()} {url}: expected 401, got {response.status_code}"

    if no_permission is not None:
        response = call(no_permission)
        assert response.status_code == 403, f"no permission {method.upper()} {url}: expected 403, got {response.status_code}"

    if out_of_scope is not None:
        response = call(out_of_scope)
        if kind == "detail":
            assert response.status_code == 404, f"out of scope {method.upper()} {url}: expected 404, got {response.status_code}"
        else:
            assert response.status_code == 200, f"out of scope list {url}: expected 200, got {response.status_code}"
            assert str(object_id) not in extract_ids(_json(response), id_field), f"out of scope list {url} leaks {object_id}"

    response = call(allowed)
    assert response.status_code == allowed_status, (
        f"allowed {method.upper()} {url}: expected {allowed_status}, got {response.status_code}: {getattr(response, 'content', b'')[:300]!r}"
    )
    if kind == "list" and object_id is not None:
        assert str(object_id) in extract_ids(_json(response), id_field), f"allowed list {url} misses {object_id}"
    if check_allowed is not None:
        check_allowed(response)


def _json(response: Any) -> Any:
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - a non-JSON body has no ids
        return None
