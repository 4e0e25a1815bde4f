"""Celery tasks of fieldwork: take ids, re-enter the scope, call one service; safe to run twice."""
