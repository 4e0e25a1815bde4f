"""Campaigns, equity and ticketing (CA-*, EQ-*, TK-*)."""
