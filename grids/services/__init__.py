"""Writes and rules of grids, one module per concern:

- `editing`: create, update, retire, split, merge, import (GR-1, GR-2, GR-4)
- `assignment`: assign, transfer with the participant registry (GR-5, GR-6), liaisons (GR-9)
- `generation`: child grids from divisions, H3, Voronoi, household targets (GR-10)
- `rating`: configurable rating (GR-7)
"""
