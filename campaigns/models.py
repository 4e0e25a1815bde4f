"""Models of campaigns. Campaigns, equity and ticketing (CA-*, EQ-*, TK-*)."""
