"""Models of dashboards. War room, cockpit and analyst reports (DB-*). Reads from the domain apps."""
