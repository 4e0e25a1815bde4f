"""Enumerations of tiles."""
