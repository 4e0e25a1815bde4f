"""Writes and rules of dashboards: keyword-only, typed, atomic, audited (gis_core.audit.audit_log)."""
