"""The geocoder chain (GC-2): providers in the configured order, a Redis cache, a rate limit, and the
offline geocoder as the fallback that always answers.

Why this module exists
----------------------
Callers ask one question — :func:`geocode` / :func:`geocode_many` — and must get an answer even when
AMap's quota is spent or Baidu times out. The chain (``settings.GEOCODER_CHAIN``, ``["offline"]`` by
default) tries each enabled provider in order and returns the first that locates the address; a
provider that raises :class:`GeocoderUnavailable` (no key, timeout, quota, HTTP error, or our own rate
limit) is skipped and the offline geocoder answers in the end.

* **Cache.** Answers of remote providers are cached in the Django cache (Redis) for 30 days under
  ``sha1(normalised address | hint city | remote providers of the chain)`` and come back with
  ``source="cache"``, so the same address never costs a second API call. Offline answers are *not*
  cached: computing one (≈ 50 µs) is cheaper than a Redis round trip, and they stay consistent with
  the gazetteer when the data are reloaded. A fallback answer is not cached either, so the remote
  provider is tried again next time.
* **Rate limit.** A fixed one-second window per remote provider (``cache.add`` + ``cache.incr`` on a
  key holding the current second, shared by every worker through Redis), at most
  ``settings.GEOCODER_RATE_LIMIT_PER_SECOND`` calls; above it the provider counts as unavailable for
  that address. If Redis itself is down, remote providers are skipped (a quota is worth protecting).
* **Batches.** :meth:`GeocoderChain.geocode_many` normalises once, answers repeated addresses once,
  reads the cache with one ``get_many`` and writes it with one ``set_many``; with an offline-only chain
  it never leaves the process.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from gis_core.geocoding.base import LEVEL_RANK, Geocoder, GeocodeResult, GeocoderUnavailable
from gis_core.geocoding.normalise import NormalisedAddress
from gis_core.geocoding.offline import OfflineGeocoder

logger = logging.getLogger(__name__)

__all__ = ["GeocoderChain", "RateLimited", "default_chain", "geocode", "geocode_many", "provider_from_name"]

CACHE_TIMEOUT_SECONDS = 30 * 24 * 3600
DEFAULT_KEY_PREFIX = "geocoding"
CACHE_VERSION = "v1"


class RateLimited(GeocoderUnavailable):
    """The provider's calls for this second are used up."""


def provider_from_name(name: str) -> Geocoder:
    """A provider instance for a name of ``settings.GEOCODER_CHAIN``."""
    if name == "offline":
        return OfflineGeocoder()
    if name == "amap":
        from gis_core.geocoding.amap import AmapGeocoder

        return AmapGeocoder()
    if name == "baidu":
        from gis_core.geocoding.baidu import BaiduGeocoder

        return BaiduGeocoder()
    raise ImproperlyConfigured(f"GEOCODER_CHAIN: unknown geocoder {name!r} (offline, amap, baidu)")


class GeocoderChain:
    """Providers tried in order, with cache and rate limit; see the module docstring."""

    def __init__(
        self,
        providers: Sequence[Geocoder],
        *,
        rate_limit_per_second: int | None = None,
        cache_timeout: int = CACHE_TIMEOUT_SECONDS,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.providers = list(providers)
        listed = next((p for p in self.providers if isinstance(p, OfflineGeocoder)), None)
        self.offline = listed or OfflineGeocoder()
        if rate_limit_per_second is None:
            rate_limit_per_second = getattr(settings, "GEOCODER_RATE_LIMIT_PER_SECOND", 3)
        self.rate_limit_per_second = rate_limit_per_second
        self.cache_timeout = cache_timeout
        self.key_prefix = key_prefix
        self.clock = clock

    @property
    def remote_providers(self) -> list[Geocoder]:
        return [p for p in self.providers if p.remote and p.enabled]

    # --- cache and rate limit --------------------------------------------------------------------
    def cache_key(self, normalised: NormalisedAddress, hint_city: str) -> str:
        remote = ",".join(p.name for p in self.remote_providers)
        digest = hashlib.sha1(f"{normalised.text}|{hint_city}|{remote}".encode()).hexdigest()
        return f"{self.key_prefix}:result:{CACHE_VERSION}:{digest}"

    def _acquire(self, provider: Geocoder) -> None:
        limit = self.rate_limit_per_second
        if not limit or limit <= 0:
            return
        key = f"{self.key_prefix}:rate:{provider.name}:{int(self.clock())}"
        try:
            cache.add(key, 0, timeout=5)
            try:
                count = cache.incr(key)
            except ValueError:  # the key expired between add and incr
                cache.add(key, 1, timeout=5)
                count = 1
        except Exception:
            logger.warning("geocoder rate limit unavailable; skipping %s", provider.name, exc_info=True)
            raise RateLimited(
                "rate limiter unavailable", provider=provider.name, code="rate_limited"
            ) from None
        if count > limit:
            message = f"more than {limit} calls per second"
            raise RateLimited(message, provider=provider.name, code="rate_limited")

    # --- answering -------------------------------------------------------------------------------
    def _resolve(self, normalised: NormalisedAddress, hint_city: str) -> GeocodeResult:
        """First locating answer of the providers in order; the offline answer when none locates it."""
        offline_result: GeocodeResult | None = None
        if not normalised.body:  # nothing beyond the (given or inferred) province and city: no API call
            return self.offline.geocode_normalised(normalised)
        for provider in self.providers:
            if not provider.enabled:
                continue
            if not provider.remote:
                offline_result = offline_result or self.offline.geocode_normalised(normalised)
                if offline_result.matched:
                    return offline_result
                continue
            try:
                self._acquire(provider)
                result = provider.geocode(normalised.text, hint_city=hint_city)
            except GeocoderUnavailable as exc:
                logger.info("geocoder %s unavailable (%s), falling back", provider.name, exc.code or exc)
                continue
            if result.matched:
                result.raw_address = normalised.raw
                result.normalised_address = normalised.text
                return self._with_offline_codes(result, normalised)
        return offline_result or self.offline.geocode_normalised(normalised)

    def _with_offline_codes(self, result: GeocodeResult, normalised: NormalisedAddress) -> GeocodeResult:
        """Fill NBS codes a remote answer lacks from what the offline parse agrees with.

        Only codes at or above the answer's level, and only when the offline parse names the same
        district: a provider's point is never second-guessed, and precision is never added.
        """
        offline = self.offline.geocode_normalised(normalised)
        if not offline.matched:
            return result
        if result.codes.get("district") and result.codes["district"] != offline.codes.get("district"):
            return result
        rank = LEVEL_RANK.get(result.level, 0)
        for level in ("province", "city", "district", "street", "community"):
            if level in offline.codes and level not in result.codes and LEVEL_RANK.get(level, 1) <= rank:
                result.codes[level] = offline.codes[level]
                result.names.setdefault(level, offline.names.get(level, ""))
        return result

    def geocode(self, address: str, *, hint_city: str = "长沙市") -> GeocodeResult:
        """Geocode one address through the chain."""
        normalised = self.offline.normalise(address, hint_city=hint_city)
        if not self.remote_providers:
            return self.offline.geocode_normalised(normalised)
        key = self.cache_key(normalised, hint_city)
        try:
            cached = cache.get(key)
        except Exception:
            logger.warning("geocoding cache unavailable", exc_info=True)
            cached = None
        if cached is not None:
            return self._from_cache(cached, address)
        result = self._resolve(normalised, hint_city)
        if result.source != self.offline.name:
            try:
                cache.set(key, result.to_dict(), timeout=self.cache_timeout)
            except Exception:
                logger.warning("geocoding cache unavailable", exc_info=True)
        return result

    def geocode_many(self, addresses: Iterable[str], *, hint_city: str = "长沙市") -> list[GeocodeResult]:
        """Geocode a batch: one answer per address, in order (see the module docstring)."""
        addresses = list(addresses)
        normalise = self.offline.normalise
        normalised = [normalise(address or "", hint_city=hint_city) for address in addresses]
        by_text: dict[str, GeocodeResult] = {}
        results: list[GeocodeResult] = []
        if not self.remote_providers:
            geocode_normalised = self.offline.geocode_normalised
            for item in normalised:
                known = by_text.get(item.text)
                if known is None:
                    known = by_text[item.text] = geocode_normalised(item)
                    results.append(known)
                else:
                    results.append(dataclasses.replace(known, raw_address=item.raw))
            return results

        keys = {item.text: self.cache_key(item, hint_city) for item in normalised}
        try:
            cached = cache.get_many(list(set(keys.values())))
        except Exception:
            logger.warning("geocoding cache unavailable", exc_info=True)
            cached = {}
        to_cache: dict[str, dict] = {}
        for item in normalised:
            known = by_text.get(item.text)
            if known is None:
                hit = cached.get(keys[item.text])
                if hit is not None:
                    known = self._from_cache(hit, item.raw)
                else:
                    known = self._resolve(item, hint_city)
                    if known.source != self.offline.name:
                        to_cache[keys[item.text]] = known.to_dict()
                by_text[item.text] = known
                results.append(known)
            else:
                results.append(dataclasses.replace(known, raw_address=item.raw))
        if to_cache:
            try:
                cache.set_many(to_cache, timeout=self.cache_timeout)
            except Exception:
                logger.warning("geocoding cache unavailable", exc_info=True)
        return results

    @staticmethod
    def _from_cache(data: dict, raw_address: str) -> GeocodeResult:
        result = GeocodeResult.from_dict(data)
        result.detail["cached_from"] = result.source
        result.source = "cache"
        result.raw_address = raw_address
        return result


def default_chain() -> GeocoderChain:
    """The chain configured in settings (``GEOCODER_CHAIN``, ``GEOCODER_RATE_LIMIT_PER_SECOND``)."""
    names = getattr(settings, "GEOCODER_CHAIN", ["offline"]) or ["offline"]
    return GeocoderChain([provider_from_name(name) for name in names])


def geocode(address: str, *, hint_city: str = "长沙市") -> GeocodeResult:
    """Geocode one address with the configured chain (offline by default)."""
    return default_chain().geocode(address, hint_city=hint_city)


def geocode_many(addresses: Iterable[str], *, hint_city: str = "长沙市") -> list[GeocodeResult]:
    """Geocode many addresses with the configured chain; the customers import's entry point."""
    return default_chain().geocode_many(addresses, hint_city=hint_city)
