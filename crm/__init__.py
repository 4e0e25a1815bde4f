"""Customers (客户): customers, archives, list imports, segments, tags, reminders (CR-*)."""
