"""Baidu (百度) geocoder (GC-2): ``geocoding/v3/`` and ``reverse_geocoding/v3/``.

Why this module exists
----------------------
The second commercial provider a bank may hold a key for. Baidu answers in BD-09 (``bd09ll``), which is
converted to WGS-84 here with ``gis_core.crs`` only; its ``level`` (门址, 道路, 乡镇, 地产小区 …),
``precise`` (1 = exact address point, 0 = fuzzy) and ``confidence`` (an absolute error class: 100 is
< 20 m, 50 is < 1 km, 20 is < 10 km) are mapped onto the platform's level and confidence. A non-zero
``status`` (302 daily quota, 401 concurrency, 5/101 bad key …), timeouts and HTTP errors raise
:class:`GeocoderUnavailable`; "no result" is an unmatched answer, not an error.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings

from gis_core.crs import bd09_to_wgs84, wgs84_to_bd09
from gis_core.geocoding.base import Geocoder, GeocodeResult, GeocoderUnavailable
from gis_core.geocoding.http import fetch_json

__all__ = ["BAIDU_BASE_URL", "BaiduGeocoder"]

BAIDU_BASE_URL = "https://api.map.baidu.com"

_POI_LEVELS = {
    "地产小区", "商务大厦", "政府机构", "商圈", "生活服务", "休闲娱乐", "餐饮", "宾馆", "购物", "金融", "教育",
    "医疗", "工业园区", "旅游景点", "汽车服务", "火车站", "长途汽车站", "桥", "停车场", "港口", "码头",
    "收费站", "飞机场", "机场", "加油站", "绿地", "公司企业", "NoClass",
}
# Baidu ``level`` → (platform level, the best confidence that level can have).
LEVEL_MAP: dict[str, tuple[str, float]] = {
    "门址": ("road_number", 0.9),
    "道路": ("road_number", 0.5),
    "交叉路口": ("road_number", 0.55),
    "村庄": ("community", 0.7),
    "乡镇": ("street", 0.55),
    "区县": ("district", 0.45),
    "城市": ("city", 0.25),
    **{name: ("poi", 0.85) for name in _POI_LEVELS},
}
_NO_RESULT_MARKERS = ("无相关结果", "no result")


class BaiduGeocoder(Geocoder):
    """Real HTTP client of the Baidu geocoding web service."""

    name = "baidu"
    remote = True

    def __init__(
        self, key: str | None = None, *, base_url: str = BAIDU_BASE_URL, timeout: float = 5.0
    ) -> None:
        self.key = settings.GEOCODER_BAIDU_KEY if key is None else key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def enabled(self) -> bool:
        return bool(self.key)

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The decoded answer; None for Baidu's "no result"; GeocoderUnavailable for errors."""
        if not self.key:
            raise GeocoderUnavailable("no API key configured", provider=self.name, code="not_configured")
        data = fetch_json(f"{self.base_url}{path}", {"ak": self.key, "output": "json", **params},
                          timeout=self.timeout, provider=self.name)
        status = data.get("status")
        if status in (0, "0"):
            return data
        message = str(data.get("msg") or data.get("message") or "error")
        if any(marker in message for marker in _NO_RESULT_MARKERS):
            return None
        raise GeocoderUnavailable(f"{message} ({status})", provider=self.name, code=str(status))

    def geocode(self, address: str, *, hint_city: str = "长沙市") -> GeocodeResult:
        params = {"address": address[:200], "city": hint_city, "ret_coordtype": "bd09ll"}
        data = self._get("/geocoding/v3/", params)
        result = (data or {}).get("result") or {}
        location = result.get("location") or {}
        provider_level = str(result.get("level") or "")
        level, best = LEVEL_MAP.get(provider_level, ("none", 0.0))
        if not location or level == "none":
            return GeocodeResult.unmatched(
                raw_address=address, normalised_address=address, source=self.name,
                input_crs_of_provider="bd09",
                detail={"provider_level": provider_level} if provider_level else {},
            )
        try:
            bd_lng, bd_lat = float(location["lng"]), float(location["lat"])
        except (KeyError, TypeError, ValueError):
            raise GeocoderUnavailable(
                "answer without a location", provider=self.name, code="bad_response"
            ) from None
        lng, lat = bd09_to_wgs84(bd_lng, bd_lat)
        try:
            provider_confidence = max(0.0, min(1.0, float(result.get("confidence", 0)) / 100.0))
        except (TypeError, ValueError):
            provider_confidence = 0.0
        confidence = min(best, provider_confidence) if provider_confidence else best * 0.5
        precise = str(result.get("precise", "0")) == "1"
        if not precise:
            confidence *= 0.9
        return GeocodeResult(
            lng=lng, lat=lat, level=level, confidence=round(confidence, 3), codes={}, names={},
            matched_poi=None, source=self.name, input_crs_of_provider="bd09", raw_address=address,
            normalised_address=address,
            detail={
                "provider_level": provider_level, "precise": precise,
                "provider_confidence": result.get("confidence"), "comprehension": result.get("comprehension"),
            },
        )

    def reverse(self, lng: float, lat: float) -> dict[str, Any]:
        bd_lng, bd_lat = wgs84_to_bd09(lng, lat)
        data = self._get("/reverse_geocoding/v3/", {
            "location": f"{bd_lat:.6f},{bd_lng:.6f}",  # Baidu wants "lat,lng"
            "coordtype": "bd09ll", "extensions_town": "true",
        })
        result = (data or {}).get("result") or {}
        component = result.get("addressComponent") or {}
        adcode = str(component.get("adcode") or "")
        town_code = str(component.get("town_code") or "")
        return {
            "formatted_address": str(result.get("formatted_address") or ""),
            "province": str(component.get("province") or ""),
            "city": str(component.get("city") or ""),
            "district": {"code": adcode, "name": str(component.get("district") or "")} if adcode else None,
            "street": (
                {"code": town_code[:9], "name": str(component.get("town") or "")} if town_code else None
            ),
            "source": self.name,
        }
