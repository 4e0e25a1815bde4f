"""Celery tasks of crm: take ids, re-enter the scope, call one service; safe to run twice."""

from celery import shared_task  # noqa: E402


@shared_task(name="crm.import_batch_geocode", queue="geo", acks_late=True)
def import_batch_geocode_task(batch_id: int) -> dict:
    """Geocode and place the customers of one committed import batch (CR-3). Idempotent: a done batch
    is left alone and only still-pending customers are geocoded. An unexpected failure marks the
    batch failed (its customers stay committed) and is re-raised for the worker's log."""
    from crm.imports import import_batch_fail, import_batch_geocode

    try:
        batch = import_batch_geocode(batch_id=batch_id)
    except Exception:
        import_batch_fail(batch_id=batch_id, code="geocoding_failed", message="定位任务失败，请联系管理员")
        raise
    return {"batch": batch.pk, "status": batch.status, "geocoded": batch.geocoded_rows}


# --- segments and tags (CR-4, CR-5) --------------------------------------------------------------
@shared_task(name="crm.segment_refresh", queue="default", acks_late=True)
def segment_refresh_task(segment_id: int) -> dict:
    """Bring one segment's membership up to date, incrementally, under its owner's scope. Idempotent:
    a second run finds nothing to add or remove; a deleted segment is skipped."""
    from crm.segments import segment_refresh_by_id

    return segment_refresh_by_id(segment_id=segment_id)


@shared_task(name="crm.tag_refresh", queue="default", acks_late=True)
def tag_refresh_task(tag_id: int) -> dict:
    """Materialise one rule tag, incrementally, bank-wide. Idempotent; a deleted tag is skipped."""
    from crm.segments import tag_refresh_by_id

    return tag_refresh_by_id(tag_id=tag_id)


@shared_task(name="crm.segments_refresh_nightly", queue="default", acks_late=True)
def segments_refresh_nightly_task() -> dict:
    """Nightly (Celery beat): every active rule tag, then every approved segment."""
    from crm.segments import segments_refresh_nightly

    return segments_refresh_nightly()


# --- care reminders (CR-7) -----------------------------------------------------------------------
@shared_task(name="crm.reminders_daily", queue="default", acks_late=True)
def reminders_daily_task() -> dict:
    """Daily (Celery beat, 06:00): generate today's care reminders for the next 7 days. Idempotent:
    a second run the same day creates nothing."""
    from django.utils import timezone

    from crm.reminders import reminders_generate

    return reminders_generate(on=timezone.localdate())
