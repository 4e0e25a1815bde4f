"""Enumerations of grids."""
