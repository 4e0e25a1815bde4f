"""Grids (网格): physical and virtual grids, assignment, transfer, rating (GR-*)."""
