"""Models of fieldwork. Field work (外勤): check-ins, footprints, plans, standardized actions, supervision (FW-*)."""
