# covers: GC-2
"""The offline geocoder on the real Changsha fixture: every level, 月湖 vs 望月湖, inconsistent and
ambiguous addresses, and no invented precision."""
import pytest

from gis_core.geocoding import OfflineGeocoder, gazetteer_invalidate, geocode, geocode_many, get_gazetteer
from gis_core.geocoding.gazetteer import VERSION_KEY
from gis_core.models import AdminDivision, Poi
from gis_core.tests.geocoding_support import changsha  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def geocoder(changsha):  # noqa: F811
    return OfflineGeocoder()


def centroid(code):
    point = AdminDivision.objects.get(code=code).centroid
    return pytest.approx(point.x, abs=1e-9), pytest.approx(point.y, abs=1e-9)


def chain_is_consistent(codes):
    return (codes["community"].startswith(codes["street"]) if "community" in codes else True) and (
        codes["street"].startswith(codes["district"]) if "street" in codes else True)


# --- each level -----------------------------------------------------------------------------------
def test_residential_estate_is_a_poi_with_its_point(geocoder):
    result = geocoder.geocode("长沙市岳麓区望月湖小区12栋3单元501室")
    poi = Poi.objects.get(source="osm", source_id="1279838330")
    assert result.level == "poi"
    assert result.matched_poi == "望月湖小区" and result.names["poi"] == "望月湖小区"
    assert (result.lng, result.lat) == (pytest.approx(poi.geom.x, abs=1e-9), pytest.approx(poi.geom.y, abs=1e-9))
    assert result.codes["community"] == poi.division.code
    assert result.codes["district"] == "430104" and result.codes["city"] == "430100"
    assert result.detail["house"] == "12栋3单元501室"
    assert result.source == "offline" and result.input_crs_of_provider == "wgs84"
    assert result.point.srid == 4326 and result.point.x == result.lng
    assert 0.8 <= result.confidence <= 1


def test_estate_without_any_admin_name(geocoder):
    result = geocoder.geocode("中航城")
    assert result.level == "poi" and result.matched_poi == "中航城"
    assert result.codes["district"] == "430111"


def test_community(geocoder):
    result = geocoder.geocode("湖南省长沙市芙蓉区文艺路街道识字里社区居委会")
    assert result.level == "community"
    assert result.codes == {"province": "430000", "city": "430100", "district": "430102",
                            "street": "430102001", "community": "430102001001"}
    assert result.names["community"] == "识字里社区居委会" and result.names["street"] == "文艺路街道"
    assert (result.lng, result.lat) == centroid("430102001001")
    assert result.normalised_address == "湖南省长沙市芙蓉区文艺路街道识字里社区"


def test_village(geocoder):
    result = geocoder.geocode("芙蓉区火炬村村民委员会")
    assert result.level == "community" and result.codes["community"] == "430102010204"


def test_street(geocoder):
    result = geocoder.geocode("长沙 岳麓区 望月湖街道办事处")
    assert result.level == "street"
    assert result.codes["street"] == "430104001" and "community" not in result.codes
    assert (result.lng, result.lat) == centroid("430104001")


def test_district_with_a_road_number_we_cannot_locate(geocoder):
    # 麓山南路 is also a community's bare name; followed by a door number it is the road
    result = geocoder.geocode("长沙市岳麓区麓山南路932号")
    assert result.level == "district"
    assert result.codes["district"] == "430104" and "street" not in result.codes
    assert result.detail["road"] == "麓山南路" and result.detail["house"] == "932号"
    assert (result.lng, result.lat) == centroid("430104")


def test_city(geocoder):
    result = geocoder.geocode("长沙市人民中路88号")
    assert result.level == "city"
    assert result.codes == {"province": "430000", "city": "430100"}
    assert (result.lng, result.lat) == centroid("430100")
    assert result.confidence < 0.3


@pytest.mark.parametrize("address", ["北京市海淀区中关村大街27号", "湖南省株洲市天元区", "不详", "", "123456"])
def test_none(geocoder, address):
    result = geocoder.geocode(address)
    assert result.level == "none"
    assert result.point is None and result.lng is None
    assert result.confidence == 0 and result.codes == {}


def test_confidence_decreases_with_level(geocoder):
    levels = [geocoder.geocode(a) for a in ("岳麓区望月湖小区", "芙蓉区文艺路街道识字里社区", "岳麓区望月湖街道",
                                            "岳麓区", "长沙市")]
    assert [r.level for r in levels] == ["poi", "community", "street", "district", "city"]
    confidences = [r.confidence for r in levels]
    assert confidences == sorted(confidences, reverse=True)


# --- names that look alike, inconsistent and ambiguous addresses -----------------------------------
@pytest.mark.parametrize(
    ("address", "street"),
    [("开福区月湖街道", "430105015"), ("月湖街道", "430105015"), ("开福区月湖", "430105015"),
     ("岳麓区望月湖街道", "430104001"), ("望月湖街道", "430104001"), ("岳麓区望月湖", "430104001"),
     ("望月湖", "430104001")],
)
def test_yuehu_and_wangyuehu(geocoder, address, street):
    result = geocoder.geocode(address)
    assert result.level == "street"
    assert result.codes["street"] == street


def test_inconsistent_district_and_street(geocoder):
    """望月湖街道 is in 岳麓区, not 开福区: the finer name wins, the chain stays consistent, confidence drops."""
    consistent = geocoder.geocode("岳麓区望月湖街道")
    inconsistent = geocoder.geocode("开福区望月湖街道")
    assert inconsistent.level == "street"
    assert inconsistent.codes["street"] == "430104001" and inconsistent.codes["district"] == "430104"
    assert inconsistent.detail.get("inconsistent") is True
    assert inconsistent.confidence < consistent.confidence


def test_community_under_the_wrong_street_never_mixes_codes(geocoder):
    result = geocoder.geocode("岳麓区望月湖街道识字里社区")  # 识字里 is in 芙蓉区文艺路街道
    assert chain_is_consistent(result.codes)
    assert result.detail.get("inconsistent") is True
    assert result.confidence < geocoder.geocode("芙蓉区文艺路街道识字里社区").confidence


def test_a_community_is_taken_inside_the_named_street(geocoder):
    # two 朝阳社区: one in 芙蓉区朝阳街街道, one in 开福区月湖街道
    assert geocoder.geocode("开福区月湖街道朝阳社区").codes["community"] == "430105015002"
    assert geocoder.geocode("芙蓉区朝阳社区").codes["community"] == "430102002001"


def test_ambiguous_community_falls_back_to_what_is_common(geocoder):
    result = geocoder.geocode("朝阳社区")
    assert result.level == "city"
    assert "community" not in result.codes and "district" not in result.codes
    assert result.detail["ambiguous_fallback"] is True


def test_ambiguous_poi_falls_back(geocoder):
    """中国农业银行 has branches all over: without more, only the district (or city) is known."""
    assert geocoder.geocode("中国农业银行").level == "city"
    result = geocoder.geocode("芙蓉区中国农业银行")
    assert result.level == "district" and result.codes["district"] == "430102"
    assert result.matched_poi is None


def test_same_name_pois_close_together_are_one_place(geocoder):
    result = geocoder.geocode("芙蓉区东湖小区")  # two OSM points 95 m apart
    assert result.level == "poi" and result.matched_poi == "东湖小区"


def test_road_named_after_a_district_is_not_that_district(geocoder):
    result = geocoder.geocode("天心区芙蓉中路二段100号")
    assert result.codes["district"] == "430103"
    assert "inconsistent" not in result.detail


# --- never inventing precision ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "base",
    ["岳麓区望月湖小区", "芙蓉区文艺路街道识字里社区", "岳麓区望月湖街道", "岳麓区", "长沙市"],
)
def test_house_numbers_do_not_move_the_point(geocoder, base):
    plain = geocoder.geocode(base)
    for house in ("12栋3单元501室", "１２栋", "3号", "12-3-501", "十二栋二单元"):
        detailed = geocoder.geocode(base + house)
        assert (detailed.lng, detailed.lat, detailed.level) == (plain.lng, plain.lat, plain.level), house
        assert detailed.confidence == plain.confidence


def test_points_are_data_points_not_jittered(geocoder):
    results = [geocoder.geocode(f"岳麓区望月湖街道{n}号") for n in range(1, 6)]
    assert len({(r.lng, r.lat) for r in results}) == 1


# --- batch, public API and the gazetteer ------------------------------------------------------------
def test_geocode_many_matches_single_answers(changsha):  # noqa: F811
    addresses = ["岳麓区望月湖小区", "芙蓉区文艺路街道识字里社区", "不详", "岳麓区望月湖小区", "岳麓区 望月湖小区"]
    batch = geocode_many(addresses)
    assert [r.raw_address for r in batch] == addresses
    for address, result in zip(addresses, batch):
        single = geocode(address)
        assert (result.level, result.lng, result.lat, result.codes) == (single.level, single.lng, single.lat,
                                                                        single.codes)


def test_gazetteer_is_built_once_and_rebuilt_after_invalidation(changsha):  # noqa: F811
    from django.core.cache import cache

    first = get_gazetteer()
    assert get_gazetteer() is first
    assert len(first.divisions) >= 921 and len(first.pois) > 5000
    version_before = cache.get(VERSION_KEY)
    gazetteer_invalidate()
    assert cache.get(VERSION_KEY) != version_before
    second = get_gazetteer()
    assert second is not first and second.version == cache.get(VERSION_KEY)


def test_loader_invalidates_the_gazetteer_on_commit(changsha, django_capture_on_commit_callbacks):  # noqa: F811
    from django.conf import settings

    from gis_core.services.places import changsha_load

    with django_capture_on_commit_callbacks() as callbacks:
        changsha_load(data_dir=settings.BASE_DIR / "data" / "changsha")
    assert gazetteer_invalidate in callbacks
