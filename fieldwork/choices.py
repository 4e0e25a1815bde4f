"""Enumerations of fieldwork."""
