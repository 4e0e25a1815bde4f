"""The one HTTP GET the remote geocoders share (GC-2): stdlib only, every failure a GeocoderUnavailable.

Why this module exists
----------------------
AMap and Baidu are plain JSON-over-GET APIs; ``urllib.request`` is enough and adds no dependency. What
matters is that nothing from the network escapes as an unexpected exception (the chain must fall back
to the offline geocoder on a timeout, an HTTP error or garbage) and that the API key, which travels in
the query string, never appears in an error message or a log line.
"""
from __future__ import annotations

import json
import socket
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from gis_core.geocoding.base import GeocoderUnavailable

__all__ = ["fetch_json"]

MAX_RESPONSE_BYTES = 2_000_000
USER_AGENT = "gridmarket-geocoder/1.0"


def fetch_json(url: str, params: dict[str, Any], *, timeout: float, provider: str) -> dict[str, Any]:
    """GET ``url?params`` and decode the JSON object it answers; raise GeocoderUnavailable otherwise."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    request = Request(f"{url}?{urlencode(params)}", headers=headers)
    try:
        with urlopen(request, timeout=timeout) as response:  # noqa: S310 - the provider's https base URL
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except HTTPError as exc:
        raise GeocoderUnavailable(f"HTTP {exc.code}", provider=provider, code="http_error") from None
    except (TimeoutError, socket.timeout):
        raise GeocoderUnavailable("timed out", provider=provider, code="timeout") from None
    except URLError as exc:
        timed_out = isinstance(exc.reason, (TimeoutError, socket.timeout))
        raise GeocoderUnavailable(
            "timed out" if timed_out else "network error", provider=provider,
            code="timeout" if timed_out else "network_error",
        ) from None
    except OSError:
        raise GeocoderUnavailable("network error", provider=provider, code="network_error") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise GeocoderUnavailable("response too large", provider=provider, code="bad_response")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise GeocoderUnavailable("response is not JSON", provider=provider, code="bad_response") from None
    if not isinstance(data, dict):
        raise GeocoderUnavailable("response is not a JSON object", provider=provider, code="bad_response")
    return data
