"""Server-side masking of sensitive values (SEC-5): the API and pages show these, never the raw value.

    mask_phone("13812341234")          -> "138****1234"
    mask_id_number("430102199001011234") -> "430***********1234"
    mask_account("6222021234567890123")  -> "6222***********0123"
    mask_name("张三丰")                 -> "张**"
"""
from __future__ import annotations


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    value = "".join((value or "").split())
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        # Too short to show both ends: keep at most the first character.
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end:]


def mask_phone(value: str) -> str:
    """Mobile numbers keep the first 3 and last 4 digits."""
    return _mask(value, 3, 4)


def mask_id_number(value: str) -> str:
    """ID numbers keep the first 3 and last 4 characters."""
    return _mask(value, 3, 4)


def mask_account(value: str) -> str:
    """Account and card numbers keep the first 4 and last 4 digits."""
    return _mask(value, 4, 4)


def mask_name(value: str) -> str:
    """Personal names keep the family name (first character)."""
    value = (value or "").strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""
