"""REST API of grids."""
