# covers: GC-2, GC-1
"""AMap and Baidu adapters: their real HTTP client code against a local server answering with recorded
responses, the datum conversion (gis_core.crs), level mapping, errors, quota and timeouts."""
import pytest
from django.test import override_settings

from gis_core.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from gis_core.geocoding.amap import AmapGeocoder
from gis_core.geocoding.baidu import BaiduGeocoder
from gis_core.geocoding.base import GeocoderUnavailable
from gis_core.tests.geocoding_support import recorded_server, server  # noqa: F401

AMAP_GEO = "/v3/geocode/geo"
AMAP_REGEO = "/v3/geocode/regeo"
BAIDU_GEO = "/geocoding/v3/"
BAIDU_REVERSE = "/reverse_geocoding/v3/"
KEY = "k-0123456789abcdef"


def metres_apart(a, b):
    import math

    x = math.radians(b[0] - a[0]) * math.cos(math.radians(a[1]))
    return 6371008.8 * math.hypot(x, math.radians(b[1] - a[1]))


@pytest.fixture
def amap(server):  # noqa: F811
    return AmapGeocoder(key=KEY, base_url=server.url, timeout=2)


@pytest.fixture
def baidu(server):  # noqa: F811
    return BaiduGeocoder(key=KEY, base_url=server.url, timeout=2)


# --- AMap ------------------------------------------------------------------------------------------
def test_amap_geocode_converts_gcj02_to_wgs84(amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_ok.json")
    result = amap.geocode("湖南省长沙市岳麓区麓山南路932号")
    expected = gcj02_to_wgs84(112.933009, 28.169721)
    assert (result.lng, result.lat) == pytest.approx(expected, abs=1e-12)
    assert 400 < metres_apart((112.933009, 28.169721), (result.lng, result.lat)) < 900  # the datum shift
    assert wgs84_to_gcj02(result.lng, result.lat) == pytest.approx((112.933009, 28.169721), abs=1e-9)
    assert result.level == "road_number" and result.confidence == pytest.approx(0.9)
    assert result.source == "amap" and result.input_crs_of_provider == "gcj02"
    assert result.codes == {"province": "430000", "city": "430100", "district": "430104"}
    assert result.names["district"] == "岳麓区"
    assert result.detail["road"] == "麓山南路" and result.detail["house"] == "932号"
    path, query = server.requests[-1]
    assert path == AMAP_GEO
    assert query["key"] == [KEY] and query["address"] == ["湖南省长沙市岳麓区麓山南路932号"]
    assert query["city"] == ["长沙市"] and query["output"] == ["JSON"]


def test_amap_level_mapping(amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_district.json")
    result = amap.geocode("长沙市开福区")
    assert result.level == "district" and result.codes["district"] == "430105"
    assert result.confidence < 0.5


def test_amap_no_match_is_not_an_error(amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_empty.json")
    result = amap.geocode("不存在的地方")
    assert result.level == "none" and result.point is None and result.source == "amap"


def test_amap_quota_is_unavailable(amap, server):  # noqa: F811
    server.answer(AMAP_GEO, "amap_geo_quota.json")
    with pytest.raises(GeocoderUnavailable) as caught:
        amap.geocode("岳麓区")
    assert caught.value.code == "10003" and caught.value.provider == "amap"
    assert "DAILY_QUERY_OVER_LIMIT" in str(caught.value)
    assert KEY not in str(caught.value)


def test_amap_reverse_sends_gcj02(amap, server):  # noqa: F811
    server.answer(AMAP_REGEO, "amap_regeo_ok.json")
    answer = amap.reverse(112.9275, 28.1730)
    gcj = wgs84_to_gcj02(112.9275, 28.1730)
    assert server.requests[-1][1]["location"] == [f"{gcj[0]:.6f},{gcj[1]:.6f}"]
    assert answer["district"] == {"code": "430104", "name": "岳麓区"}
    assert answer["street"] == {"code": "430104001", "name": "望月湖街道"}


# --- Baidu -----------------------------------------------------------------------------------------
def test_baidu_geocode_converts_bd09_to_wgs84(baidu, server):  # noqa: F811
    server.answer(BAIDU_GEO, "baidu_geo_ok.json")
    result = baidu.geocode("湖南省长沙市岳麓区麓山南路932号")
    bd = (112.93957348631724, 28.175713424087317)
    assert (result.lng, result.lat) == pytest.approx(bd09_to_wgs84(*bd), abs=1e-12)
    assert 700 < metres_apart(bd, (result.lng, result.lat)) < 1500  # BD-09 is GCJ-02 plus another offset
    assert wgs84_to_bd09(result.lng, result.lat) == pytest.approx(bd, abs=1e-5)
    assert result.level == "road_number" and result.confidence == pytest.approx(0.8)
    assert result.source == "baidu" and result.input_crs_of_provider == "bd09"
    query = server.requests[-1][1]
    assert query["ak"] == [KEY] and query["output"] == ["json"] and query["ret_coordtype"] == ["bd09ll"]


def test_baidu_fuzzy_answer_gets_low_confidence(baidu, server):  # noqa: F811
    server.answer(BAIDU_GEO, "baidu_geo_fuzzy.json")
    result = baidu.geocode("开福区")
    assert result.level == "district"
    assert result.confidence == pytest.approx(0.2 * 0.9)
    assert result.detail["precise"] is False


def test_baidu_no_result_is_not_an_error(baidu, server):  # noqa: F811
    server.answer(BAIDU_GEO, "baidu_geo_no_result.json")
    assert baidu.geocode("不存在的地方").level == "none"


def test_baidu_quota_is_unavailable(baidu, server):  # noqa: F811
    server.answer(BAIDU_GEO, "baidu_geo_quota.json")
    with pytest.raises(GeocoderUnavailable) as caught:
        baidu.geocode("岳麓区")
    assert caught.value.code == "302" and KEY not in str(caught.value)


def test_baidu_reverse_sends_lat_first_in_bd09(baidu, server):  # noqa: F811
    server.answer(BAIDU_REVERSE, "baidu_reverse_ok.json")
    answer = baidu.reverse(112.9275, 28.1730)
    bd = wgs84_to_bd09(112.9275, 28.1730)
    query = server.requests[-1][1]
    assert query["location"] == [f"{bd[1]:.6f},{bd[0]:.6f}"] and query["coordtype"] == ["bd09ll"]
    assert answer["street"] == {"code": "430104001", "name": "望月湖街道"}


# --- failures common to both -----------------------------------------------------------------------
@pytest.mark.parametrize(("cls", "path"), [(AmapGeocoder, AMAP_GEO), (BaiduGeocoder, BAIDU_GEO)])
def test_timeout_is_unavailable(server, cls, path):  # noqa: F811
    server.answer(path, "amap_geo_ok.json", delay=1.5)
    geocoder = cls(key=KEY, base_url=server.url, timeout=0.2)
    with pytest.raises(GeocoderUnavailable) as caught:
        geocoder.geocode("岳麓区")
    assert caught.value.code == "timeout"


@pytest.mark.parametrize(("cls", "path"), [(AmapGeocoder, AMAP_GEO), (BaiduGeocoder, BAIDU_GEO)])
def test_http_error_and_garbage_are_unavailable(server, cls, path):  # noqa: F811
    geocoder = cls(key=KEY, base_url=server.url, timeout=2)
    server.answer(path, {"error": "boom"}, status=500)
    with pytest.raises(GeocoderUnavailable) as caught:
        geocoder.geocode("岳麓区")
    assert caught.value.code == "http_error"
    server.answer(path, b"<html>gateway</html>")
    with pytest.raises(GeocoderUnavailable) as caught:
        geocoder.geocode("岳麓区")
    assert caught.value.code == "bad_response"


def test_connection_refused_is_unavailable():
    geocoder = AmapGeocoder(key=KEY, base_url="http://127.0.0.1:9", timeout=1)
    with pytest.raises(GeocoderUnavailable) as caught:
        geocoder.geocode("岳麓区")
    assert caught.value.code in ("network_error", "timeout")


@override_settings(GEOCODER_AMAP_KEY="", GEOCODER_BAIDU_KEY="")
def test_adapters_without_a_key_are_disabled_and_send_nothing(server):  # noqa: F811
    for geocoder in (AmapGeocoder(base_url=server.url), BaiduGeocoder(base_url=server.url)):
        assert not geocoder.enabled
        with pytest.raises(GeocoderUnavailable) as caught:
            geocoder.geocode("岳麓区")
        assert caught.value.code == "not_configured"
    assert server.requests == []


@override_settings(GEOCODER_AMAP_KEY="from-settings", GEOCODER_BAIDU_KEY="baidu-from-settings")
def test_keys_come_from_settings(server):  # noqa: F811
    assert AmapGeocoder().key == "from-settings" and AmapGeocoder().enabled
    assert BaiduGeocoder().key == "baidu-from-settings"
