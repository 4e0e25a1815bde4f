"""Enumerations of campaigns."""
