"""Logging helpers: every record carries the request id of the request that produced it."""
import logging

from gis_core import context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id
        return True
