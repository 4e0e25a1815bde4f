"""Validators shared by the apps: Chinese resident ID numbers (GB 11643) and mobile numbers."""
from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def resident_id_problem(value: str) -> str | None:
    """None when `value` is a valid 18-character resident ID, else a short Chinese reason."""
    value = (value or "").strip().upper()
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return "身份证号应为18位，前17位为数字，末位为数字或X"
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    if birth > dt.date.today() or birth.year < 1900:
        return "身份证号中的出生日期无效"
    if resident_id_check_char(value[:17]) != value[17]:
        return "身份证号校验位错误"
    return None


def resident_id_birth_and_gender(value: str) -> tuple[dt.date, str]:
    """Birth date and gender ("M"/"F") encoded in a valid resident ID."""
    value = value.strip().upper()
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14])), ("M" if int(value[16]) % 2 else "F")


def mobile_valid(value: str) -> bool:
    return bool(_MOBILE.match((value or "").strip()))
