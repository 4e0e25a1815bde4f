"""Writes and rules of grids: keyword-only, typed, atomic, audited (gis_core.audit.audit_log)."""
