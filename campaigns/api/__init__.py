"""REST API of campaigns."""
