# covers: GC-2
"""The chain: providers in order, the Redis cache (provider calls counted), the rate limit, fallback to
the offline geocoder, batches, and the configured default chain."""
import uuid

import pytest
from django.core.cache import cache
from django.test import override_settings

from gis_core.geocoding import GeocoderChain, OfflineGeocoder, default_chain
from gis_core.geocoding.amap import AmapGeocoder
from gis_core.geocoding.baidu import BaiduGeocoder
from gis_core.tests.geocoding_support import changsha, recorded_server, server  # noqa: F401

pytestmark = pytest.mark.django_db

AMAP_GEO = "/v3/geocode/geo"
BAIDU_GEO = "/geocoding/v3/"


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_chain(server, clock, changsha):  # noqa: F811
    """A chain with its own cache namespace (nothing left from earlier runs) and a fixed clock."""
    prefixes = []

    def _make(*providers, rate_limit=100):
        prefix = f"geocoding-test-{uuid.uuid4().hex}"
        prefixes.append(prefix)
        return GeocoderChain(list(providers), rate_limit_per_second=rate_limit, key_prefix=prefix, clock=clock)

    yield _make
    for prefix in prefixes:
        cache.delete_pattern(f"{prefix}:*")


@pytest.fixture
def amap(server):  # noqa: F811
    return AmapGeocoder(key="test-key", base_url=server.url, timeout=1)


def test_second_call_comes_from_the_cache(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    chain = make_chain(amap, OfflineGeocoder())
    first = chain.geocode("湖南省长沙市岳麓区麓山南路932号")
    assert first.source == "amap" and server.hits(AMAP_GEO) == 1
    second = chain.geocode("长沙市 岳麓区 麓山南路９３２号")  # same address once normalised
    assert server.hits(AMAP_GEO) == 1
    assert second.source == "cache" and second.detail["cached_from"] == "amap"
    assert (second.lng, second.lat, second.level, second.codes) == (first.lng, first.lat, first.level, first.codes)
    assert second.raw_address == "长沙市 岳麓区 麓山南路９３２号"


def test_remote_answer_gets_codes_the_offline_parse_agrees_with(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    result = make_chain(amap, OfflineGeocoder()).geocode("岳麓区望月湖街道麓山南路932号")
    assert result.source == "amap"
    assert result.codes["district"] == "430104" and result.codes["street"] == "430104001"


def test_cache_is_per_chain(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    chain = make_chain(amap, OfflineGeocoder())
    chain.geocode("岳麓区麓山南路932号")
    key = chain.cache_key(chain.offline.normalise("岳麓区麓山南路932号"), "长沙市")
    assert cache.get(key)["source"] == "amap"
    baidu = BaiduGeocoder(key="b", base_url=server.url)
    other = GeocoderChain([baidu, amap], key_prefix=chain.key_prefix)
    assert other.cache_key(chain.offline.normalise("岳麓区麓山南路932号"), "长沙市") != key


def test_unavailable_provider_falls_back_to_offline_and_is_not_cached(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_quota.json")
    chain = make_chain(amap)  # offline is not listed: it is still the last resort
    result = chain.geocode("芙蓉区文艺路街道识字里社区")
    assert result.source == "offline" and result.level == "community"
    assert chain.geocode("芙蓉区文艺路街道识字里社区").source == "offline"
    assert server.hits(AMAP_GEO) == 2  # the fallback was not cached: AMap is asked again


def test_timeout_falls_back_to_offline(make_chain, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json", delay=1.0)
    slow = AmapGeocoder(key="k", base_url=server.url, timeout=0.2)
    result = make_chain(slow, OfflineGeocoder()).geocode("岳麓区望月湖街道")
    assert result.source == "offline" and result.level == "street"


def test_provider_without_match_passes_to_the_next(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_empty.json")
    server.answer(BAIDU_GEO, "baidu_geo_ok.json")
    baidu = BaiduGeocoder(key="b", base_url=server.url, timeout=1)
    result = make_chain(amap, baidu, OfflineGeocoder()).geocode("岳麓区麓山南路932号")
    assert result.source == "baidu" and server.hits(AMAP_GEO) == 1 and server.hits(BAIDU_GEO) == 1


def test_offline_first_answers_without_calling_the_provider(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    chain = make_chain(OfflineGeocoder(), amap)
    assert chain.geocode("岳麓区望月湖街道").source == "offline"
    assert server.hits(AMAP_GEO) == 0
    assert chain.geocode("某某县某某路1号").source == "amap"  # offline found nothing: AMap is asked


def test_empty_address_costs_no_api_call(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    chain = make_chain(amap, OfflineGeocoder())
    assert chain.geocode("").level == "none"
    assert chain.geocode("长沙市").level == "city"
    assert server.hits(AMAP_GEO) == 0


def test_rate_limit_per_second(make_chain, amap, server, clock):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    chain = make_chain(amap, OfflineGeocoder(), rate_limit=2)
    sources = [chain.geocode(f"岳麓区望月湖街道{n}号").source for n in range(1, 6)]
    assert sources == ["amap", "amap", "offline", "offline", "offline"]
    assert server.hits(AMAP_GEO) == 2
    clock.now += 1  # the next second
    assert chain.geocode("岳麓区望月湖街道99号").source == "amap"
    assert server.hits(AMAP_GEO) == 3


def test_rate_limit_is_shared_through_redis(make_chain, amap, server, clock):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    first = make_chain(amap, OfflineGeocoder(), rate_limit=1)
    second = GeocoderChain([amap, OfflineGeocoder()], rate_limit_per_second=1, key_prefix=first.key_prefix,
                           clock=clock)  # another worker, same Redis window
    assert first.geocode("岳麓区望月湖街道1号").source == "amap"
    assert second.geocode("岳麓区望月湖街道2号").source == "offline"


def test_geocode_many_uses_the_cache_and_answers_repeats_once(make_chain, amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    chain = make_chain(amap, OfflineGeocoder())
    chain.geocode("岳麓区麓山南路932号")
    assert server.hits(AMAP_GEO) == 1
    addresses = ["岳麓区麓山南路932号", "岳麓区望月湖街道8号", "岳麓区望月湖街道8号", "岳麓区 望月湖街道 8号"]
    results = chain.geocode_many(addresses)
    assert [r.source for r in results] == ["cache", "amap", "amap", "amap"]
    assert [r.raw_address for r in results] == addresses
    assert server.hits(AMAP_GEO) == 2  # one call for the one new address
    again = chain.geocode_many(addresses)
    assert [r.source for r in again] == ["cache"] * 4 and server.hits(AMAP_GEO) == 2


def test_offline_only_chain_never_touches_the_network_or_cache(make_chain, server):  # noqa: F811
    chain = make_chain(OfflineGeocoder())
    results = chain.geocode_many(["岳麓区望月湖小区", "不详"])
    assert [r.level for r in results] == ["poi", "none"]
    assert [r.source for r in results] == ["offline", "offline"]
    assert server.requests == []
    assert not cache.keys(f"{chain.key_prefix}:*")


@override_settings(GEOCODER_CHAIN=["amap", "baidu", "offline"], GEOCODER_AMAP_KEY="", GEOCODER_BAIDU_KEY="",
                   GEOCODER_RATE_LIMIT_PER_SECOND=7)
def test_default_chain_from_settings_skips_providers_without_keys(changsha):  # noqa: F811
    chain = default_chain()
    assert [p.name for p in chain.providers] == ["amap", "baidu", "offline"]
    assert chain.remote_providers == [] and chain.rate_limit_per_second == 7
    assert chain.geocode("岳麓区望月湖街道").source == "offline"


@override_settings(GEOCODER_CHAIN=["google"])
def test_unknown_provider_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        default_chain()
