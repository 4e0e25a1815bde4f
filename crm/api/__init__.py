"""REST API of crm."""
