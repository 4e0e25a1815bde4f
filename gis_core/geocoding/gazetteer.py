"""The in-memory gazetteer of the offline geocoder (GC-2): every name we can locate, and a fast matcher.

Why this module exists
----------------------
Geocoding a 100,000-row customer list must not hit the database once per row. All the names the
offline geocoder can locate — the admin divisions (full names, short names, bare forms without
社区/村/街道/镇/区) and the POIs (full names, names without a parenthesised branch suffix) — are
read once per process into plain dicts keyed by their canonical spelling (``normalise.clean_text``).
Matching is a leftmost-longest scan over the normalised address (substrings of 2..N characters looked
up in one dict, positions whose first two characters start no name skipped), which runs at tens of
thousands of addresses per second.

The gazetteer is rebuilt when the data change: ``changsha_load`` calls :func:`gazetteer_invalidate`
on commit, which bumps a version key in the Django cache (Redis, shared by every process) and drops
this process's copy; other processes notice the new version within ``VERSION_CHECK_SECONDS``.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.cache import cache

from gis_core.geocoding.normalise import clean_text, strip_admin_suffix

logger = logging.getLogger(__name__)

__all__ = [
    "Division",
    "Entry",
    "Gazetteer",
    "PoiRecord",
    "Token",
    "build_gazetteer",
    "gazetteer_invalidate",
    "get_gazetteer",
]

VERSION_KEY = "geocoding:gazetteer:version"
VERSION_CHECK_SECONDS = 5.0
MAX_FORM_LENGTH = 32
MIN_POI_FORM_LENGTH = 3
# Bare division forms (without 社区/村/街道/镇/区) shorter than this are not indexed: "火炬" or "朝阳"
# alone would match inside too many unrelated words.
MIN_BARE_LENGTH = {"city": 2, "district": 2, "street": 2, "community": 3}

# How much a matched name supports a hypothesis, by level and by form (full name, bare form).
WEIGHTS = {
    "city": (1.0, 0.8),
    "district": (2.5, 2.0),
    "street": (3.5, 2.5),
    "community": (4.0, 2.4),
    "poi": (5.0, 4.0),
}
ADMIN_LEVEL_ORDER = ("province", "city", "district", "street", "community")

# POI names that say nothing about where they are.
GENERIC_POI_NAMES = frozenset(
    clean_text(name)
    for name in (
        "小区", "住宅小区", "居民小区", "宿舍", "宿舍楼", "家属区", "公寓", "学生公寓", "教学楼", "办公楼",
        "综合楼", "实验楼", "图书馆", "体育馆", "食堂", "停车场", "地下停车场", "菜市场", "农贸市场",
        "超市", "便利店", "幼儿园", "小学", "中学", "卫生院", "卫生室", "诊所", "药店", "银行", "ATM",
        "公共厕所", "厕所", "公园", "广场", "售楼部", "物业", "安置小区", "还建小区",
    )
)
_HOUSE_ONLY_RE = re.compile(r"^第?[A-Z]{0,2}[\d\-]*[A-Z]?(号院|号楼|号|栋|幢|座|单元|楼|层|室|区|期)?$")
_PARENTHESISED_RE = re.compile(r"[(（][^)）]*[)）]")
# A bare division form directly followed by one of these is part of a road name (芙蓉中路, 岳麓大道).
_DOOR_NUMBER_RE = re.compile(r"\d+号(?!院|楼)")
_ROAD_ENDINGS = ("路", "街", "大道", "巷")
_ROAD_AHEAD = ("路", "大道", "街", "巷", "中路", "东路", "西路", "南路", "北路", "一路", "二路", "三路", "四路")


class Entry(NamedTuple):
    """One thing a spelling can mean: a division (key = NBS code) or a POI (key = "poi:<id>").

    ``chain`` holds the keys of the thing itself and of every division it lies in.
    """

    level: str
    key: str
    weight: float
    bare: bool
    chain: frozenset[str]


class Token(NamedTuple):
    """A name found in an address: its span, spelling and everything it can mean."""

    start: int
    end: int
    form: str
    entries: tuple[Entry, ...]


@dataclass(slots=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str | None
    lng: float | None
    lat: float | None
    chain: dict[str, str] = field(default_factory=dict)
    ancestors: frozenset[str] = frozenset()


@dataclass(slots=True)
class PoiRecord:
    key: str
    id: int
    source_id: str
    name: str
    category: str
    community_code: str | None
    lng: float
    lat: float
    chain_keys: frozenset[str] = frozenset()


class Gazetteer:
    """Names → entries, the division tree and POI records; immutable once built."""

    def __init__(self, *, version: str, divisions: dict[str, Division], pois: dict[str, PoiRecord],
                 forms: dict[str, tuple[Entry, ...]]) -> None:
        self.version = version
        self.divisions = divisions
        self.pois = pois
        self.forms = forms
        self.max_length = max((len(f) for f in forms), default=2)
        # longest name per first two characters: positions starting no name are skipped at once
        self.longest_from: dict[str, int] = {}
        for form in forms:
            if len(form) > self.longest_from.get(form[:2], 0):
                self.longest_from[form[:2]] = len(form)
        self.city_code = next((c for c, d in divisions.items() if d.level == "city"), None)
        self.province_code = next((c for c, d in divisions.items() if d.level == "province"), None)

    def __len__(self) -> int:
        return len(self.forms)

    def starts_with_name(self, text: str, min_length: int) -> bool:
        """Whether ``text`` starts with a known name longer than ``min_length`` characters."""
        forms = self.forms
        longest = self.longest_from.get(text[:2])
        if longest is None:
            return False
        for length in range(min(longest, len(text)), min_length, -1):
            if text[:length] in forms:
                return True
        return False

    def scan(self, body: str, *, stop: int | None = None) -> list[Token]:
        """Leftmost-longest names in ``body`` (non-overlapping), in order, starting before ``stop``.

        A bare form that is a road's name (文艺路, 麓山南路 — streets and communities named after their
        road) followed by a door number (``932号``) is the road, not the unit.
        """
        forms, longest_from = self.forms, self.longest_from
        tokens: list[Token] = []
        n = len(body)
        last_start = n - 1 if stop is None else min(stop, n - 1)
        i = 0
        while i < last_start:
            longest = longest_from.get(body[i:i + 2])
            if longest is None:
                i += 1
                continue
            for length in range(min(longest, n - i), 1, -1):
                form = body[i:i + length]
                entries = forms.get(form)
                if entries is None:
                    continue
                if entries[0].bare and all(e.bare for e in entries):
                    if body.startswith(_ROAD_AHEAD, i + length):
                        continue  # 芙蓉中路: a road named after the district, not the district
                    if form.endswith(_ROAD_ENDINGS):
                        end = i + length
                        if _DOOR_NUMBER_RE.match(body, end):
                            i = end  # 麓山南路932号: the road, which we cannot locate
                            break
                tokens.append(Token(i, i + length, form, entries))
                i += length
                break
            else:
                i += 1
        return tokens


def _division_forms(division: Division, short_name: str) -> list[tuple[str, bool]]:
    """(form, bare) pairs of one division."""
    forms: dict[str, bool] = {}
    full = clean_text(division.name)
    short = clean_text(short_name) if short_name else full
    for candidate in (full, short):
        if not candidate:
            continue
        bare = strip_admin_suffix(candidate)
        is_bare_itself = candidate == bare and candidate != full
        forms.setdefault(candidate, is_bare_itself)
        if bare != candidate and len(bare) >= MIN_BARE_LENGTH.get(division.level, 2):
            forms.setdefault(bare, True)
    return [(form, bare) for form, bare in forms.items() if len(form) >= 2]


def _poi_forms(name: str) -> list[tuple[str, bool]]:
    """(form, alias) pairs of one POI name: full, without branch suffix, without 湖南省/长沙市 prefix."""
    full = clean_text(name)
    out: list[tuple[str, bool]] = [(full, False)]
    stripped = clean_text(_PARENTHESISED_RE.sub("", name))
    if stripped and stripped != full:
        out.append((stripped, True))
    for prefix in ("湖南省", "长沙市"):
        for form, _alias in list(out):
            if form.startswith(prefix) and len(form) - len(prefix) >= 4:
                out.append((form[len(prefix):], True))
    return [
        (form, alias) for form, alias in out
        if len(form) >= MIN_POI_FORM_LENGTH and form not in GENERIC_POI_NAMES
        and not _HOUSE_ONLY_RE.match(form)
    ]


def build_gazetteer(*, version: str = "") -> Gazetteer:
    """Read every division and POI from the database into a new :class:`Gazetteer`."""
    from gis_core.models import AdminDivision, Poi

    started = time.perf_counter()
    divisions: dict[str, Division] = {}
    short_names: dict[str, str] = {}
    rows = AdminDivision.objects.values_list(
        "code", "name", "short_name", "level", "parent__code", "centroid"
    )
    for code, name, short_name, level, parent_code, centroid in rows.iterator(chunk_size=2000):
        divisions[code] = Division(
            code=code, name=name, level=level, parent_code=parent_code,
            lng=None if centroid is None else centroid.x, lat=None if centroid is None else centroid.y,
        )
        short_names[code] = short_name or ""
    for division in divisions.values():
        chain: dict[str, str] = {}
        node: Division | None = division
        seen = 0
        while node is not None and seen < 8:
            chain[node.level] = node.code
            node = divisions.get(node.parent_code) if node.parent_code else None
            seen += 1
        division.chain = chain
        division.ancestors = frozenset(chain.values())

    forms: dict[str, list[Entry]] = {}
    for division in divisions.values():
        if division.level == "province" or "虚拟" in division.name:
            continue
        full_weight, bare_weight = WEIGHTS[division.level]
        for form, bare in _division_forms(division, short_names[division.code]):
            forms.setdefault(form, []).append(
                Entry(division.level, division.code, bare_weight if bare else full_weight, bare,
                      division.ancestors)
            )
    division_forms = frozenset(forms)

    pois: dict[str, PoiRecord] = {}
    poi_rows = Poi.objects.values_list("id", "source_id", "name", "category", "division__code", "geom")
    for poi_id, source_id, name, category, community_code, geom in poi_rows.iterator(chunk_size=5000):
        key = f"poi:{poi_id}"
        chain_keys = {key}
        if community_code and community_code in divisions:
            chain_keys |= divisions[community_code].ancestors
        record = PoiRecord(
            key=key, id=poi_id, source_id=source_id, name=name, category=category,
            community_code=community_code, lng=geom.x, lat=geom.y, chain_keys=frozenset(chain_keys),
        )
        pois[key] = record
        full_weight, alias_weight = WEIGHTS["poi"]
        for form, alias in _poi_forms(name):
            if form in division_forms:
                continue  # a POI spelled like a division (乔庄社区, 望月湖街道办事处): the division wins
            entries = forms.setdefault(form, [])
            if not any(e.key == key for e in entries):
                weight = alias_weight if alias else full_weight
                entries.append(Entry("poi", key, weight, alias, record.chain_keys))

    gazetteer = Gazetteer(
        version=version, divisions=divisions, pois=pois,
        forms={form: tuple(entries) for form, entries in forms.items() if len(form) <= MAX_FORM_LENGTH},
    )
    logger.info(
        "gazetteer built: %d divisions, %d POIs, %d names in %.2fs",
        len(divisions), len(pois), len(gazetteer), time.perf_counter() - started,
    )
    return gazetteer


class _State:
    lock = threading.Lock()
    gazetteer: Gazetteer | None = None
    checked_at = 0.0


def _current_version() -> str:
    try:
        version = cache.get(VERSION_KEY)
    except Exception:  # Redis down: keep what we have rather than fail every geocode
        logger.warning("gazetteer version check failed", exc_info=True)
        return _State.gazetteer.version if _State.gazetteer is not None else "initial"
    return version or "initial"


def get_gazetteer() -> Gazetteer:
    """This process's gazetteer, built on first use and rebuilt when the version key changes."""
    gazetteer = _State.gazetteer
    now = time.monotonic()
    if gazetteer is not None and now - _State.checked_at < VERSION_CHECK_SECONDS:
        return gazetteer
    with _State.lock:
        version = _current_version()
        gazetteer = _State.gazetteer
        if gazetteer is None or gazetteer.version != version:
            gazetteer = build_gazetteer(version=version)
            _State.gazetteer = gazetteer
        _State.checked_at = time.monotonic()
        return gazetteer


def gazetteer_invalidate() -> None:
    """Force every process to rebuild its gazetteer (call after divisions or POIs changed)."""
    with _State.lock:
        _State.gazetteer = None
        _State.checked_at = 0.0
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # the local copy is dropped anyway; other processes catch up on their next check
        logger.warning("gazetteer version bump failed", exc_info=True)
