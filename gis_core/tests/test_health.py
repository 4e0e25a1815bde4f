# covers: issue-2 item 3 (health probes)
"""/healthz and /readyz against the real database and a real Redis server that we stop."""
import shutil
import socket
import subprocess
import time

import pytest
import redis


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    """A real redis-server on a free port, owned by this test so it can be stopped."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is installed by scripts/setup.sh"
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield {"url": f"redis://127.0.0.1:{port}/0", "proc": proc}
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ok_then_503_when_redis_stops(client, settings, private_redis):
    settings.REDIS_URL = private_redis["url"]
    ok = client.get("/readyz")
    assert ok.status_code == 200, ok.content
    assert ok.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}

    private_redis["proc"].terminate()
    private_redis["proc"].wait(5)
    failing = client.get("/readyz")
    assert failing.status_code == 503
    body = failing.json()
    assert body["status"] == "failing"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] != "ok"


@pytest.mark.django_db
def test_readyz_reports_unapplied_migrations(client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("fake", False)])
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["migrations"] == "1 unapplied"
