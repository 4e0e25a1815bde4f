# covers: GR-10 (generation as a real background job)
"""The generation flow outside eager mode: a real Celery worker subprocess (`celery -A config worker
-Q geo,default -c 1 --pool solo`) runs the job that `generation_start` enqueues on commit, against
the test database, through Redis.

Isolation from other test runs on the same machine: the broker is a Redis database chosen from the
test database's name (1–15; the default broker uses 0), so no other worker takes this job.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from grids.choices import GenerationMethod, GridLevel, JobStatus
from grids.services.generation import generation_start
from grids.tests.factories import GridFactory, square

TIMEOUT_S = 60


def _database_url() -> str:
    db = connection.settings_dict
    auth = f"{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}@" if db["USER"] else ""
    return f"postgis://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _private_broker() -> str:
    parts = urlsplit(settings.CELERY_BROKER_URL)
    number = 1 + zlib.crc32(connection.settings_dict["NAME"].encode()) % 15
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_generation_job_runs_on_a_real_celery_worker(bank, monkeypatch, tmp_path):
    from config.celery import app

    parent = GridFactory(code="W", name="工作进程测试区", institution=bank["a"], level=GridLevel.DISTRICT,
                         geom=square(112.95, 28.15, 0.02))
    broker = _private_broker()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "geo,default", "-c", "1", "--pool", "solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=Path(settings.BASE_DIR), env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        # This process publishes to the same private broker, for real (not eagerly).
        monkeypatch.setenv("CELERY_BROKER_URL", broker)  # Celery's conf reads this variable first
        app.conf.task_always_eager = False
        monkeypatch.setattr(app.amqp, "_producer_pool", None)  # no pool bound to the default broker

        started = time.monotonic()
        job = generation_start(actor=None, parent=parent, method=GenerationMethod.H3, params={"resolution": 9})
        job.refresh_from_db()
        assert job.status in (JobStatus.PENDING, JobStatus.RUNNING)  # not run in this process

        while job.status in (JobStatus.PENDING, JobStatus.RUNNING):
            assert worker.poll() is None, f"worker exited early:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() - started < TIMEOUT_S, f"job still {job.status} after {TIMEOUT_S}s:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.2)
            job.refresh_from_db()

        assert job.status == JobStatus.READY, (job.error, log_path.read_text()[-3000:])
        assert job.progress == 100 and job.drafts.count() == job.report["count"] > 0
        assert job.report["coverage_ratio"] > 0.9999
        assert "grids.generate_children" in log_path.read_text()  # the worker, not this process, ran it
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
