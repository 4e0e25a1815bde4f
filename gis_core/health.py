"""Liveness and readiness probes.

`/healthz`: the process answers (no dependencies touched).
`/readyz`: PostgreSQL answers, Redis answers and no migration is unapplied; otherwise 503 naming the
failing part. Neither needs a login, and neither reveals more than ok/failing and a short reason.
"""
from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> tuple[bool, str]:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return False, type(exc).__name__


def _check_migrations() -> tuple[bool, str]:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return (not plan), ("ok" if not plan else f"{len(plan)} unapplied")
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


def _check_redis() -> tuple[bool, str]:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


@never_cache
@require_GET
def readyz(request):
    started = time.monotonic()
    checks = {}
    db_ok, checks["database"] = _check_database()
    checks["migrations"] = _check_migrations()[1] if db_ok else "skipped"
    _, checks["redis"] = _check_redis()
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "failing", "checks": checks, "ms": round((time.monotonic() - started) * 1000, 1)},
        status=200 if ok else 503,
    )
