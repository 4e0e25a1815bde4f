"""Write services of gis_core, one module per domain: organisation, auth, places."""
