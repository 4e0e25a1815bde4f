"""Normalising Chinese addresses before matching (GC-2). Pure functions, no Django, no database.

Why this module exists
----------------------
Addresses in customer lists are typed by hand: full-width digits (１２栋), spaces, "长沙" or "长沙市",
"居委会" or "社区", "街道办事处", Chinese numerals (十二栋), a missing province or city, and a tail of
house parts (12栋3单元501室) that none of our data can locate. The gazetteer and the matcher work on
one canonical spelling, so every address and every gazetteer name goes through :func:`clean_text`,
and addresses additionally through :func:`normalise_address`, which splits off the province/city
prefix and the house tail. The house tail is kept as a detail only: it is never used to add precision.

Speed matters (≥ 2,000 addresses/s for the whole geocoder on one core), so everything is a handful of
precompiled regular expressions and ``str.translate``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["NormalisedAddress", "clean_text", "normalise_address", "strip_admin_suffix"]

# Characters that carry no meaning in an address: whitespace and punctuation (ASCII after NFKC).
_NOISE = " \t\r\n\u3000\u00a0,，、.。;；:：!！?？\"“”'‘’`·•・‧∙~～_＿/\\|()（）[]【】{}<>《》〈〉「」『』〔〕*^$@&=+"
_NOISE_TABLE = str.maketrans("", "", _NOISE)

# Administrative suffix variants unified to the short form (longest first, applied in order).
_SUFFIXES = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", "社区"),
    ("居委会", "社区"),
    ("村民委员会", "村"),
    ("村委会", "村"),
    ("街道办事处", "街道"),
    ("街道办", "街道"),
    ("办事处", "街道"),
)
_SUFFIX_RE = re.compile("|".join(re.escape(old) for old, _new in _SUFFIXES))
_SUFFIX_MAP = dict(_SUFFIXES)
# "社区社区" / "街道街道" after unification (e.g. "识字里社区社区居委会").
_DOUBLED_RE = re.compile(r"(社区|街道|村)\1+")

# Chinese numerals directly before a house unit: 十二栋 -> 12栋, 三单元 -> 3单元.
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER_RE = re.compile(r"([零〇一二两三四五六七八九十百]+)(号|栋|幢|单元|室|楼|层|座)")
_HASH_RE = re.compile(r"(\d+)#")

# The house tail: one or more unit tokens at the very end (12栋3单元501室, 12-3-501, 932号, A座1203).
_HOUSE_TOKEN = (
    r"(?:[A-Z]?\d+[A-Z]?(?:号院|号楼|号房|号|栋|幢|座|单元|楼|层|室|房|户|组)"
    r"|[A-Z](?:栋|座|幢)"
    r"|\d+(?:-\d+){1,3}(?:号|室)?)"
)
_HOUSE_RE = re.compile(rf"(?:{_HOUSE_TOKEN})+(?:\d+)?$")
_DASH_RE = re.compile(r"-+")
_LOOSE_DASH_RE = re.compile(r"(?<!\d)-|-(?!\d)")

# A region prefix that is not the hinted city: another province, autonomous region or city.
_OTHER_REGION_RE = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,6}?(?:省|自治区|特别行政区)"
    r"|[\u4e00-\u9fff]{2,3}?市(?!场|民|政|中心|区))"
)
_NOT_REGION_CHARS = set("区县路街镇村乡巷道")

# Where the province/city prefix may be dropped only before another division ("长沙岳麓区", "长沙县").
_DISTRICT_AHEAD_RE = re.compile(r"^[\u4e00-\u9fff]{1,3}?(?:区|县|市)")


@dataclass(frozen=True, slots=True)
class NormalisedAddress:
    """An address in canonical spelling, split into its parts.

    ``text`` is the canonical full form (``湖南省长沙市`` + ``body`` + ``house``) used for cache keys and
    display; ``body`` is what the matcher scans; ``house`` the trailing house parts (detail only).
    """

    raw: str
    text: str
    body: str
    house: str
    province_given: bool
    city_given: bool
    other_region: bool


def _cn_number(text: str) -> int | None:
    """十二 -> 12, 二十 -> 20, 一百零五 -> 105, 三 -> 3; digit strings like 一二 -> 12."""
    if "十" not in text and "百" not in text:
        value = 0
        for ch in text:
            if ch not in _CN_DIGITS:
                return None
            value = value * 10 + _CN_DIGITS[ch]
        return value
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        else:
            return None
    return total + current


def _replace_cn_number(match: re.Match[str]) -> str:
    value = _cn_number(match.group(1))
    return match.group(0) if value is None else f"{value}{match.group(2)}"


def clean_text(text: str) -> str:
    """Canonical spelling of an address or a gazetteer name (no splitting, no prefix handling).

    NFKC (full-width digits, letters and punctuation to half-width), upper-case Latin letters, Chinese
    numerals before 号/栋/单元/室/楼 to digits, ``12#`` to ``12号``, noise punctuation and spaces removed
    (dashes kept between digits for ``12-3-501``), 居委会/社区居委会 -> 社区, 村委会 -> 村,
    街道办(事处) -> 街道.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).upper().translate(_NOISE_TABLE)
    if "#" in text:
        text = _HASH_RE.sub(r"\1号", text).replace("#", "")
    text = _CN_NUMBER_RE.sub(_replace_cn_number, text)
    text = _SUFFIX_RE.sub(lambda m: _SUFFIX_MAP[m.group(0)], text)
    text = _DOUBLED_RE.sub(r"\1", text)
    if "-" in text:
        text = _LOOSE_DASH_RE.sub("", _DASH_RE.sub("-", text))  # kept only between digits: 12-3-501
    return text


def strip_admin_suffix(name: str) -> str:
    """The bare form of a division name: 识字里社区 -> 识字里, 望月湖街道 -> 望月湖, 岳麓区 -> 岳麓."""
    for suffix in ("社区", "街道", "村", "镇", "乡", "区", "县"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _split_house(text: str) -> tuple[str, str]:
    match = _HOUSE_RE.search(text)
    if match is None or match.start() == 0:
        return text, ""
    return text[: match.start()], match.group(0)


def normalise_address(
    text: str,
    *,
    hint_city: str = "长沙市",
    hint_province: str = "湖南省",
    protected: Callable[[str, int], bool] | None = None,
) -> NormalisedAddress:
    """Normalise one address typed by a person.

    The province and city prefixes (``湖南省``/``湖南``, ``长沙市``/``长沙``) are recognised and dropped
    from ``body``; a missing province or city is inferred from the hints (``text`` always starts with
    them) unless the address names another province or city (``other_region``). ``protected(text, n)``
    tells whether ``text`` starts with a known name longer than ``n`` characters (湖南大学,
    长沙理工大学), in which case the prefix belongs to that name and stays.
    """
    raw = text or ""
    cleaned = clean_text(raw[:500])
    if "-" in cleaned:
        body, house = _split_house(cleaned)
        body = body.replace("-", "")
    else:
        body, house = _split_house(cleaned)
    if body.startswith("中国") and not (protected is not None and protected(body, 2)):
        body = body[2:]

    province_full = hint_province
    province_short = hint_province[:-1] if hint_province.endswith("省") else hint_province
    city_full = hint_city
    city_short = hint_city[:-1] if hint_city.endswith("市") else hint_city

    def drop(prefix: str, *, needs_division_ahead: bool) -> bool:
        nonlocal body
        if not prefix or not body.startswith(prefix) or len(body) == len(prefix):
            return False
        if protected is not None and protected(body, len(prefix)):
            return False
        rest = body[len(prefix):]
        if needs_division_ahead and not (rest.startswith(city_short) or _DISTRICT_AHEAD_RE.match(rest)):
            return False
        body = rest
        return True

    province_given = drop(province_full, needs_division_ahead=False) or drop(
        province_short, needs_division_ahead=True
    )
    if body == province_full or body == province_short:
        body, province_given = "", True
    city_given = False
    if body.startswith(city_short + "县"):
        city_given = True  # a county of the city we have no data for: the city is still known
    else:
        city_given = drop(city_full, needs_division_ahead=False)
        city_given = city_given or drop(city_short, needs_division_ahead=True)
        if body == city_full or body == city_short:
            body, city_given = "", True

    other_region = False
    if not city_given:
        match = _OTHER_REGION_RE.match(body)
        if match is not None and not (_NOT_REGION_CHARS & set(match.group(0)[:-1])):
            region = match.group(0)
            other_region = not (
                (province_short and province_short in region)
                or (city_short and city_short in region)
                or (protected is not None and protected(body, 1))  # starts with one of our names: 岳麓湖南省…
            )
    if other_region:
        canonical = (province_full if province_given else "") + body + house
    else:
        canonical = province_full + city_full + body + house
    return NormalisedAddress(
        raw=raw,
        text=canonical,
        body=body,
        house=house,
        province_given=province_given,
        city_given=city_given,
        other_region=other_region,
    )
