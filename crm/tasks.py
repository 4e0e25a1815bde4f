"""Celery tasks of crm: take ids, re-enter the scope, call one service; safe to run twice."""
