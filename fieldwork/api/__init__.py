"""REST API of fieldwork."""
