"""Geocoding (GC-2): address → WGS-84 point, level, confidence, NBS codes; and point → admin units.

Public API (everything else in this package is an implementation detail):

* :func:`geocode` / :func:`geocode_many` — through the configured chain (``settings.GEOCODER_CHAIN``,
  offline by default; AMap/Baidu when keys are set), with the Redis cache and rate limit.
* :func:`reverse_geocode` — point → district, street, community and the nearest POI (PostGIS).
* :func:`normalise_address` — the canonical spelling of an address (pure).
* :class:`GeocodeResult`, :class:`Geocoder`, :class:`GeocoderUnavailable` — the interface.
* :func:`gazetteer_invalidate` — call after divisions or POIs change (``changsha_load`` does).
"""
from gis_core.geocoding.base import LEVEL_RANK, LEVELS, GeocodeResult, Geocoder, GeocoderUnavailable
from gis_core.geocoding.chain import GeocoderChain, default_chain, geocode, geocode_many
from gis_core.geocoding.gazetteer import gazetteer_invalidate, get_gazetteer
from gis_core.geocoding.normalise import normalise_address
from gis_core.geocoding.offline import OfflineGeocoder
from gis_core.geocoding.reverse import reverse_geocode

__all__ = [
    "LEVELS",
    "LEVEL_RANK",
    "GeocodeResult",
    "Geocoder",
    "GeocoderChain",
    "GeocoderUnavailable",
    "OfflineGeocoder",
    "default_chain",
    "gazetteer_invalidate",
    "geocode",
    "geocode_many",
    "get_gazetteer",
    "normalise_address",
    "reverse_geocode",
]
