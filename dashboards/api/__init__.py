"""REST API of dashboards."""
