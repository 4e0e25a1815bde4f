"""AMap (高德) web-service geocoder (GC-2): ``v3/geocode/geo`` and ``v3/geocode/regeo``.

Why this module exists
----------------------
Where a bank holds an AMap key, AMap knows house numbers and buildings our offline data lacks. AMap
answers in GCJ-02; the point is converted to WGS-84 here, at the edge, with ``gis_core.crs`` (the only
place that knows the formulas), and AMap's ``level`` (门牌号, 兴趣点, 乡镇, 区县 …) is mapped onto the
platform's levels. Without a key (``settings.GEOCODER_AMAP_KEY`` empty, the default) the adapter is
disabled. Errors (``status`` "0", e.g. infocode 10003 daily quota, 10004 too frequent), timeouts and
HTTP errors raise :class:`GeocoderUnavailable` so the chain falls back to the offline geocoder.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings

from gis_core.crs import gcj02_to_wgs84, wgs84_to_gcj02
from gis_core.geocoding.base import Geocoder, GeocodeResult, GeocoderUnavailable
from gis_core.geocoding.http import fetch_json

__all__ = ["AMAP_BASE_URL", "AmapGeocoder"]

AMAP_BASE_URL = "https://restapi.amap.com"

# AMap ``level`` → (platform level, confidence). Province/country answers locate nothing useful.
LEVEL_MAP: dict[str, tuple[str, float]] = {
    "门牌号": ("road_number", 0.9),
    "单元号": ("road_number", 0.9),
    "楼栋": ("poi", 0.9),
    "兴趣点": ("poi", 0.85),
    "热点商圈": ("poi", 0.6),
    "公交站台、地铁站": ("poi", 0.7),
    "道路交叉路口": ("road_number", 0.55),
    "道路": ("road_number", 0.5),
    "村庄": ("community", 0.7),
    "乡镇": ("street", 0.55),
    "开发区": ("street", 0.5),
    "区县": ("district", 0.45),
    "市": ("city", 0.25),
}


def _text(value: Any) -> str:
    """AMap writes missing values as ``[]``; a string otherwise."""
    return value if isinstance(value, str) else ""


class AmapGeocoder(Geocoder):
    """Real HTTP client of the AMap geocoding web service."""

    name = "amap"
    remote = True

    def __init__(
        self, key: str | None = None, *, base_url: str = AMAP_BASE_URL, timeout: float = 5.0
    ) -> None:
        self.key = settings.GEOCODER_AMAP_KEY if key is None else key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def enabled(self) -> bool:
        return bool(self.key)

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        if not self.key:
            raise GeocoderUnavailable("no API key configured", provider=self.name, code="not_configured")
        data = fetch_json(f"{self.base_url}{path}", {"key": self.key, "output": "JSON", **params},
                          timeout=self.timeout, provider=self.name)
        if str(data.get("status")) != "1":
            infocode = str(data.get("infocode", ""))
            message = f"{_text(data.get('info')) or 'error'} ({infocode})"
            raise GeocoderUnavailable(message, provider=self.name, code=infocode or "error")
        return data

    def geocode(self, address: str, *, hint_city: str = "长沙市") -> GeocodeResult:
        data = self._get("/v3/geocode/geo", {"address": address[:200], "city": hint_city})
        geocodes = data.get("geocodes") or []
        if not geocodes:
            return GeocodeResult.unmatched(raw_address=address, normalised_address=address, source=self.name,
                                           input_crs_of_provider="gcj02")
        first = geocodes[0]
        level, confidence = LEVEL_MAP.get(_text(first.get("level")), ("none", 0.0))
        try:
            gcj_lng, gcj_lat = (float(v) for v in _text(first.get("location")).split(","))
        except ValueError:
            raise GeocoderUnavailable(
                "answer without a location", provider=self.name, code="bad_response"
            ) from None
        if level == "none":
            return GeocodeResult.unmatched(raw_address=address, normalised_address=address, source=self.name,
                                           input_crs_of_provider="gcj02",
                                           detail={"provider_level": _text(first.get("level"))})
        lng, lat = gcj02_to_wgs84(gcj_lng, gcj_lat)
        adcode = _text(first.get("adcode"))
        codes: dict[str, str] = {}
        if len(adcode) == 6 and adcode.isdigit():
            codes = {"province": adcode[:2] + "0000", "city": adcode[:4] + "00"}
            if adcode[4:] != "00":
                codes["district"] = adcode
        fields = (
            ("province", "province"), ("city", "city"), ("district", "district"), ("street", "township"),
        )
        names = {key: _text(first.get(name)) for key, name in fields if _text(first.get(name))}
        if len(geocodes) > 1:
            confidence *= 0.9  # AMap found several candidates and returned its best
        detail = {
            "provider_level": _text(first.get("level")),
            "formatted_address": _text(first.get("formatted_address")),
        }
        if _text(first.get("street")):
            detail["road"] = _text(first.get("street"))
        if _text(first.get("number")):
            detail["house"] = _text(first.get("number"))
        return GeocodeResult(
            lng=lng, lat=lat, level=level, confidence=round(confidence, 3), codes=codes,
            names=names, matched_poi=None, source=self.name, input_crs_of_provider="gcj02",
            raw_address=address, normalised_address=address, detail=detail,
        )

    def reverse(self, lng: float, lat: float) -> dict[str, Any]:
        gcj_lng, gcj_lat = wgs84_to_gcj02(lng, lat)
        location = f"{gcj_lng:.6f},{gcj_lat:.6f}"
        data = self._get("/v3/geocode/regeo", {"location": location, "extensions": "base"})
        regeocode = data.get("regeocode") or {}
        component = regeocode.get("addressComponent") or {}
        adcode = _text(component.get("adcode"))
        towncode = _text(component.get("towncode"))
        return {
            "formatted_address": _text(regeocode.get("formatted_address")),
            "province": _text(component.get("province")),
            "city": _text(component.get("city")),
            "district": {"code": adcode, "name": _text(component.get("district"))} if adcode else None,
            # AMap's towncode is the 9-digit NBS street code padded to 12 digits.
            "street": {"code": towncode[:9], "name": _text(component.get("township"))} if towncode else None,
            "source": self.name,
        }
