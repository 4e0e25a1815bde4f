"""Celery tasks of gis_core. Each takes ids (or nothing), calls one service and is safe to run twice."""
from __future__ import annotations

from celery import shared_task

from gis_core.services.auth import token_purge_expired


@shared_task(name="gis_core.purge_expired_tokens")
def purge_expired_tokens() -> int:
    """Hourly (CELERY_BEAT_SCHEDULE): delete API tokens that expired more than 7 days ago."""
    return token_purge_expired()
