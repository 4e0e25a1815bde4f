"""Celery tasks of dashboards: take ids, re-enter the scope, call one service; safe to run twice."""
