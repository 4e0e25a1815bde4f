"""Writes and rules of tiles: keyword-only, typed, atomic, audited (gis_core.audit.audit_log)."""
