"""Shared pieces of the geocoding tests (GC-2): the real Changsha fixture loaded once per module, and a
real local HTTP server that answers with the recorded AMap/Baidu responses.

Import the fixtures into a test module to use them:
    from gis_core.tests.geocoding_support import changsha, recorded_server  # noqa: F401
"""
from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command

from gis_core.geocoding.gazetteer import gazetteer_invalidate
from gis_core.models import AdminDivision, AuditEntry, Poi

RECORDED = Path(__file__).resolve().parent / "recorded"


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def _clean_up() -> None:
    Poi.objects.filter(source="osm").delete()
    AdminDivision.objects.filter(code__startswith="43").delete()
    AuditEntry.objects.filter(action="gis_core.places.changsha_loaded").delete()


@pytest.fixture(scope="module")
def changsha(django_db_setup, django_db_blocker):
    """The real fixture (`load_changsha`), committed for the module and removed afterwards."""
    with django_db_blocker.unblock():
        _clean_up()
        call_command("load_changsha", stdout=io.StringIO())
    yield
    with django_db_blocker.unblock():
        _clean_up()
        gazetteer_invalidate()


class RecordedServer:
    """A ThreadingHTTPServer on 127.0.0.1 answering per path with a recorded body (or a delay/status)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float]] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                parts = urlsplit(self.path)
                with server.lock:
                    server.requests.append((parts.path, parse_qs(parts.query)))
                    status, body, delay = server.routes.get(parts.path, (404, b'{"status":"0"}', 0.0))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):  # keep pytest output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, body: bytes | str | dict, *, status: int = 200, delay: float = 0.0) -> None:
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False).encode()
        elif isinstance(body, str):
            body = recorded(body)
        with self.lock:
            self.routes[path] = (status, body, delay)

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def reset(self) -> None:
        with self.lock:
            self.routes.clear()
            self.requests.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def recorded_server():
    server = RecordedServer()
    yield server
    server.close()


@pytest.fixture
def server(recorded_server):
    recorded_server.reset()
    return recorded_server
