"""Enumerations of dashboards."""
