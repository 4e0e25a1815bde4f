"""The geocoder interface and its result type (GC-2).

Why this module exists
----------------------
Customers' addresses are geocoded by the offline gazetteer by default and, where a bank has a key, by
AMap or Baidu. Callers (the customers import, the API, address correction) must not care which one
answered, so every provider implements :class:`Geocoder` and answers a :class:`GeocodeResult`: a
WGS-84 point (never GCJ-02 or BD-09: providers convert at the edge with ``gis_core.crs``), the level
that was actually matched, a confidence, the NBS codes and names per level, and where it came from.
A provider that cannot answer (no key, timeout, quota, HTTP error) raises :class:`GeocoderUnavailable`
so the chain can fall back to the offline geocoder.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.geos import Point

__all__ = [
    "LEVELS",
    "LEVEL_RANK",
    "SOURCES",
    "GeocodeResult",
    "Geocoder",
    "GeocoderUnavailable",
]

# From finest to coarsest. "road_number" only comes from remote providers (we have no road geometry).
LEVELS = ("poi", "road_number", "community", "street", "district", "city", "none")
# Higher is finer; used for "matched level at least as fine as expected".
LEVEL_RANK = {"none": 0, "city": 1, "district": 2, "street": 3, "community": 4, "road_number": 5, "poi": 6}
SOURCES = ("offline", "amap", "baidu", "cache")
ADMIN_LEVELS = ("province", "city", "district", "street", "community")


class GeocoderUnavailable(Exception):
    """A provider could not answer (not configured, timeout, HTTP or quota error, bad response)."""

    def __init__(self, message: str, *, provider: str = "", code: str = "") -> None:
        self.provider = provider
        self.code = code
        super().__init__(f"{provider}: {message}" if provider else message)


@dataclass(slots=True)
class GeocodeResult:
    """One geocoded address. ``point`` is WGS-84 (lng/lat, SRID 4326) or None when nothing matched.

    The coordinates are kept as ``lng``/``lat`` floats and ``point`` builds a fresh GEOS Point on each
    access: creating a GEOS object costs about 50-90 µs, more than geocoding the address offline, and
    a batch of 100,000 rows often needs only the numbers.

    ``input_crs_of_provider`` says which datum the provider answered in before conversion (so a wrong
    conversion can be traced); ``detail`` keeps parts that were recognised but not located (``house``,
    ``road``) and notes such as ``ambiguous`` or ``inconsistent``.
    """

    level: str
    confidence: float
    lng: float | None = None
    lat: float | None = None
    codes: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    matched_poi: str | None = None
    source: str = "offline"
    input_crs_of_provider: str = "wgs84"
    raw_address: str = ""
    normalised_address: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def point(self) -> Point | None:
        """The answer as a GEOS Point (SRID 4326), or None; a new object on every access."""
        if self.lng is None or self.lat is None:
            return None
        return Point(self.lng, self.lat, srid=4326)

    @property
    def matched(self) -> bool:
        return self.level != "none" and self.lng is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (for the cache and the API); ``point`` as ``[lng, lat]``."""
        return {
            "point": None if self.lng is None else [self.lng, self.lat],
            "level": self.level,
            "confidence": self.confidence,
            "codes": dict(self.codes),
            "names": dict(self.names),
            "matched_poi": self.matched_poi,
            "source": self.source,
            "input_crs_of_provider": self.input_crs_of_provider,
            "raw_address": self.raw_address,
            "normalised_address": self.normalised_address,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeocodeResult:
        point = data.get("point")
        return cls(
            lng=None if point is None else float(point[0]),
            lat=None if point is None else float(point[1]),
            level=data["level"],
            confidence=float(data["confidence"]),
            codes=dict(data.get("codes") or {}),
            names=dict(data.get("names") or {}),
            matched_poi=data.get("matched_poi"),
            source=data.get("source", "offline"),
            input_crs_of_provider=data.get("input_crs_of_provider", "wgs84"),
            raw_address=data.get("raw_address", ""),
            normalised_address=data.get("normalised_address", ""),
            detail=dict(data.get("detail") or {}),
        )

    @classmethod
    def unmatched(
        cls, *, raw_address: str, normalised_address: str = "", source: str = "offline",
        input_crs_of_provider: str = "wgs84", detail: dict[str, Any] | None = None,
    ) -> GeocodeResult:
        """Nothing located: level "none", no point, confidence 0."""
        return cls(
            level="none", confidence=0.0, source=source,
            input_crs_of_provider=input_crs_of_provider, raw_address=raw_address,
            normalised_address=normalised_address, detail=detail or {},
        )


class Geocoder(ABC):
    """One geocoding provider. Implementations are cheap to construct and thread-safe to call."""

    #: "offline", "amap" or "baidu"; also the result's ``source``.
    name: str = ""
    #: Remote providers are rate-limited and their answers cached by the chain.
    remote: bool = False

    @property
    def enabled(self) -> bool:
        """False when the provider is not configured (e.g. no API key): the chain skips it."""
        return True

    @abstractmethod
    def geocode(self, address: str, *, hint_city: str = "长沙市") -> GeocodeResult:
        """Geocode one address; raises :class:`GeocoderUnavailable` when the provider cannot answer."""

    def reverse(self, lng: float, lat: float) -> dict[str, Any]:
        """Point (WGS-84) -> admin names/codes and a formatted address, as far as the provider knows."""
        raise GeocoderUnavailable("reverse geocoding not supported", provider=self.name)
