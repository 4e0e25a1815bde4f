"""Reads of fieldwork. Every selector takes the actor and applies gis_core.scope first."""
