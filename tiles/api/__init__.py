"""REST API of tiles."""
