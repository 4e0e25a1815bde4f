"""Writes and rules of campaigns: keyword-only, typed, atomic, audited (gis_core.audit.audit_log)."""
