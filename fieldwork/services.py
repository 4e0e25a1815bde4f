"""Writes and rules of fieldwork: keyword-only, typed, atomic, audited (gis_core.audit.audit_log)."""
