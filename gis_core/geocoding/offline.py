"""The offline geocoder (GC-2): the platform's default, needing nothing but the loaded divisions and POIs.

Why this module exists
----------------------
Rural banks often may not send customers' addresses to a commercial map API, and a 100,000-row import
must geocode in seconds. This geocoder matches the normalised address against the in-memory
gazetteer and decides what the address means:

1. Every name found (leftmost-longest) can mean several things (韭菜园 is a street and a community;
   东湖小区 exists twice). Each meaning is a *hypothesis*; a hypothesis is scored by the names in the
   address that confirm its chain (community → street → district → city) minus half the weight of
   names that contradict it (a district or street it is not in). So 开福区月湖街道 is 月湖 in 开福,
   望月湖 stays 望月湖 (longest match), and a community is only taken inside the street and district
   the address names — or, if the address is inconsistent, the finer name wins with a lower confidence
   and ``detail["inconsistent"]``.
2. A residential estate or other POI beats the admin units when it is confirmed by them (or nothing
   contradicts it): its point is returned with level ``poi``.
3. Ties between different places (two 朝阳社区, two 东湖小区 far apart) fall back to what they have
   in common — never a guess.
4. Otherwise the finest matched unit's centroid (a point on its surface) is returned with decreasing
   confidence: community → street → district → city. House numbers and roads are kept in ``detail``
   but never move the point: we have no road or building geometry, so we never invent precision.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.gis.geos import Point

from gis_core.geocoding.base import Geocoder, GeocodeResult
from gis_core.geocoding.gazetteer import Gazetteer, Token, get_gazetteer
from gis_core.geocoding.normalise import NormalisedAddress, normalise_address

__all__ = ["OfflineGeocoder"]

BASE_CONFIDENCE = {"poi": 0.9, "community": 0.75, "street": 0.6, "district": 0.45, "city": 0.25}
BARE_FACTOR = 0.85          # matched through a bare form (望月湖 rather than 望月湖街道)
INCONSISTENT_FACTOR = 0.7   # the address also names a unit the answer is not in
AMBIGUOUS_FACTOR = 0.8      # several places fit equally well: their common ancestor is returned
UNCONFIRMED_FACTOR = 0.9    # a community or POI with no street or district named to confirm it
SAME_PLACE_METRES = 300.0   # POIs of the same name closer than this are one place (two gates of a campus)
_ROAD_RE = re.compile(r"([\u4e00-\u9fff0-9]{1,10}?(?:大道|路|街(?!道)|巷))")


@dataclass(slots=True)
class _Hypothesis:
    key: str
    level: str
    chain: frozenset[str]
    score: float = 0.0
    penalty: float = 0.0
    support_levels: int = 0
    bare: bool = False


def _metres(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Equirectangular distance; plenty for "are these two POIs the same place" at city scale."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371008.8 * math.hypot(x, y)


def _one_place(records: list) -> object | None:
    """If the POIs lie within ``SAME_PLACE_METRES`` of their mean point (the gates and blocks of one
    estate), the one nearest to that mean (ties: west, then south first); None if they are apart."""
    lng = sum(r.lng for r in records) / len(records)
    lat = sum(r.lat for r in records) / len(records)
    distances = [(_metres(lng, lat, r.lng, r.lat), r.lng, r.lat, index) for index, r in enumerate(records)]
    if max(d[0] for d in distances) > SAME_PLACE_METRES:
        return None
    return records[min(distances)[3]]


class OfflineGeocoder(Geocoder):
    """Gazetteer-based geocoder; see the module docstring for how an address is resolved."""

    name = "offline"
    remote = False

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self._fixed_gazetteer = gazetteer

    @property
    def gazetteer(self) -> Gazetteer:
        return self._fixed_gazetteer if self._fixed_gazetteer is not None else get_gazetteer()

    # --- public ----------------------------------------------------------------------------------
    def normalise(self, address: str, *, hint_city: str = "长沙市") -> NormalisedAddress:
        gazetteer = self.gazetteer
        return normalise_address(
            address, hint_city=hint_city, hint_province=self._hint_province(gazetteer, hint_city),
            protected=gazetteer.starts_with_name,
        )

    def geocode(self, address: str, *, hint_city: str = "长沙市") -> GeocodeResult:
        return self.geocode_normalised(self.normalise(address, hint_city=hint_city))

    def geocode_many(self, addresses: Iterable[str], *, hint_city: str = "长沙市") -> list[GeocodeResult]:
        return [self.geocode(address, hint_city=hint_city) for address in addresses]

    def geocode_normalised(self, normalised: NormalisedAddress) -> GeocodeResult:
        gazetteer = self.gazetteer
        detail: dict = {}
        if normalised.house:
            detail["house"] = normalised.house
        if normalised.other_region:
            detail["other_region"] = True
            return GeocodeResult.unmatched(raw_address=normalised.raw, normalised_address=normalised.text,
                                           detail=detail)
        # Names may run into what looked like the house part (中南一号院, 西岸·润泽府8栋): scan both,
        # but only names that start before the house part.
        text = normalised.body + normalised.house
        tokens = gazetteer.scan(text, stop=len(normalised.body))
        if tokens and tokens[-1].end > len(normalised.body):
            if text[tokens[-1].end:]:
                detail["house"] = text[tokens[-1].end:]
            else:
                detail.pop("house", None)
        road = self._road(normalised.body, tokens)
        if road:
            detail["road"] = road
        if tokens:
            detail["matched"] = [t.form for t in tokens]
        chosen = self._choose(gazetteer, tokens, normalised.city_given, detail)
        if chosen is None:
            return GeocodeResult.unmatched(raw_address=normalised.raw, normalised_address=normalised.text,
                                           detail=detail)
        return self._result(gazetteer, chosen, normalised, detail)

    def reverse(self, lng: float, lat: float) -> dict:
        from gis_core.geocoding.reverse import reverse_geocode

        return reverse_geocode(Point(lng, lat, srid=4326))

    # --- internals -------------------------------------------------------------------------------
    @staticmethod
    def _hint_province(gazetteer: Gazetteer, hint_city: str) -> str:
        city = gazetteer.divisions.get(gazetteer.city_code or "")
        if city is not None and city.name == hint_city and city.parent_code in gazetteer.divisions:
            return gazetteer.divisions[city.parent_code].name
        return "湖南省" if hint_city in ("长沙市", "长沙") else ""

    @staticmethod
    def _road(body: str, tokens: list[Token]) -> str:
        tail = body[tokens[-1].end:] if tokens else body
        match = _ROAD_RE.search(tail)
        return match.group(1) if match else ""

    def _choose(self, gazetteer: Gazetteer, tokens: list[Token], city_given: bool,
                detail: dict) -> _Hypothesis | None:
        divisions, pois = gazetteer.divisions, gazetteer.pois
        hypotheses: dict[str, _Hypothesis] = {}
        for token in tokens:
            for entry in token.entries:
                if entry.key not in hypotheses:
                    hypotheses[entry.key] = _Hypothesis(entry.key, entry.level, entry.chain)
        if not hypotheses:
            if city_given and gazetteer.city_code:
                return _Hypothesis(gazetteer.city_code, "city", divisions[gazetteer.city_code].ancestors)
            return None

        token_entries = [token.entries for token in tokens]
        for hypothesis in hypotheses.values():
            key, chain = hypothesis.key, hypothesis.chain
            score = penalty = 0.0
            levels = 0
            for entries in token_entries:
                best = worst = 0.0
                compatible = own_bare = False
                for entry in entries:
                    if entry.key in chain:
                        compatible = True
                        if entry.weight > best:
                            best = entry.weight
                            own_bare = entry.bare and entry.key == key
                    elif entry.level == "poi" or key in entry.chain:
                        compatible = True  # another POI (a landmark), or a unit inside this one
                    elif entry.weight > worst:
                        worst = entry.weight
                if compatible:
                    score += best
                    if best:
                        levels += 1
                    if own_bare:
                        hypothesis.bare = True
                else:
                    penalty += 0.5 * worst
            hypothesis.score = score - penalty
            hypothesis.penalty = penalty
            hypothesis.support_levels = levels

        best_score = max(h.score for h in hypotheses.values())
        tied = [h for h in hypotheses.values() if h.score >= best_score - 1e-9]
        if len(tied) == 1:
            return tied[0]
        if all(h.level == "poi" for h in tied):
            representative = _one_place([pois[h.key] for h in tied])
            if representative is not None:
                return hypotheses[representative.key]
        # Several places fit equally well: answer only what they have in common.
        common = frozenset.intersection(*(h.chain for h in tied))
        detail["ambiguous"] = sorted(
            (pois[h.key].name if h.level == "poi" else divisions[h.key].name) for h in tied
        )[:5]
        finest = None
        for code in common:
            division = divisions.get(code)
            if division is None or division.level == "province":
                continue
            if finest is None or len(division.ancestors) > len(finest.ancestors):
                finest = division
        if finest is None:
            return None
        fallback = _Hypothesis(finest.code, finest.level, finest.ancestors)
        fallback.penalty = max(h.penalty for h in tied)
        fallback.support_levels = max(h.support_levels for h in tied)
        detail["ambiguous_fallback"] = True
        return fallback

    def _result(self, gazetteer: Gazetteer, chosen: _Hypothesis, normalised: NormalisedAddress,
                detail: dict) -> GeocodeResult:
        divisions = gazetteer.divisions
        codes: dict[str, str] = {}
        names: dict[str, str] = {}
        matched_poi = None
        if chosen.level == "poi":
            poi = gazetteer.pois[chosen.key]
            lng, lat = poi.lng, poi.lat
            matched_poi = poi.name
            names["poi"] = poi.name
            detail["poi_id"] = poi.id
            detail["poi_category"] = poi.category
            admin = divisions.get(poi.community_code or "")
        else:
            admin = divisions[chosen.key]
            lng, lat = admin.lng, admin.lat
        if admin is not None:
            for level, code in admin.chain.items():
                codes[level] = code
                names[level] = divisions[code].name
        if lng is None or lat is None:
            # A unit without a centroid (the province): go up until there is one, else nothing.
            node = admin
            while node is not None and node.lng is None:
                node = divisions.get(node.parent_code or "")
            if node is None:
                return GeocodeResult.unmatched(raw_address=normalised.raw, normalised_address=normalised.text,
                                               detail=detail)
            lng, lat = node.lng, node.lat

        confidence = BASE_CONFIDENCE.get(chosen.level, 0.2)
        if chosen.bare:
            confidence *= BARE_FACTOR
        if chosen.penalty > 0:
            confidence *= INCONSISTENT_FACTOR
            detail["inconsistent"] = True
        if detail.get("ambiguous_fallback"):
            confidence *= AMBIGUOUS_FACTOR
        if chosen.level in ("community", "poi") and chosen.support_levels <= 1:
            confidence *= UNCONFIRMED_FACTOR
        return GeocodeResult(
            lng=lng,
            lat=lat,
            level=chosen.level,
            confidence=round(confidence, 3),
            codes=codes,
            names=names,
            matched_poi=matched_poi,
            source=self.name,
            input_crs_of_provider="wgs84",
            raw_address=normalised.raw,
            normalised_address=normalised.text,
            detail=detail,
        )
