# covers: GC-2
"""Address normalisation: pure functions, no database."""
import pytest

from gis_core.geocoding.normalise import clean_text, normalise_address, strip_admin_suffix


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１２栋３单元５０１室", "12栋3单元501室"),                     # full-width digits
        ("ＡＢＣ小区　Ｂ座", "ABC小区B座"),                              # full-width letters and space
        ("识字里社区居委会", "识字里社区"),
        ("识字里居委会", "识字里社区"),
        ("识字里社区居民委员会", "识字里社区"),
        ("火炬村委会", "火炬村"),
        ("火炬村民委员会", "火炬村"),
        ("望月湖街道办事处", "望月湖街道"),
        ("望月湖街道办", "望月湖街道"),
        ("十二栋三单元", "12栋3单元"),                                  # Chinese numerals before 栋/单元
        ("二十一号", "21号"),
        ("一百零五室", "105室"),
        ("12#楼", "12号楼"),
        ("龙湖·水晶郦城", "龙湖水晶郦城"),                              # noise punctuation
        ("岳麓区，望月湖（近地铁）", "岳麓区望月湖近地铁"),
        ("中南家园-东区", "中南家园东区"),                              # a dash between words goes
        ("12-3-501", "12-3-501"),                                        # between digits it stays
        ("", ""),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_leaves_names_alone():
    assert clean_text("五里牌街道") == "五里牌街道"   # 五 is not before a house unit
    assert clean_text("第十教学楼") == "第十教学楼"  # 十 is not directly before 楼


@pytest.mark.parametrize(
    ("name", "bare"),
    [("识字里社区", "识字里"), ("望月湖街道", "望月湖"), ("岳麓区", "岳麓"), ("莲花镇", "莲花"), ("火炬村", "火炬"),
     ("东区", "东区")],
)
def test_strip_admin_suffix(name, bare):
    assert strip_admin_suffix(name) == bare


@pytest.mark.parametrize(
    "raw",
    ["湖南省长沙市岳麓区望月湖街道", "湖南长沙岳麓区望月湖街道", "长沙市岳麓区望月湖街道", "长沙岳麓区望月湖街道",
     "岳麓区望月湖街道", " 岳麓区  望月湖街道办事处 ", "中国湖南省长沙市岳麓区望月湖街道"],
)
def test_province_and_city_are_unified_or_inferred(raw):
    result = normalise_address(raw)
    assert result.text == "湖南省长沙市岳麓区望月湖街道"
    assert result.body == "岳麓区望月湖街道"
    assert not result.other_region


def test_given_prefixes_are_reported():
    assert normalise_address("湖南省长沙市岳麓区").province_given
    assert normalise_address("湖南省长沙市岳麓区").city_given
    missing = normalise_address("岳麓区")
    assert not missing.province_given and not missing.city_given


def test_house_parts_are_split_off_and_kept():
    result = normalise_address("长沙市岳麓区望月湖小区１２栋３单元５０１室")
    assert result.body == "岳麓区望月湖小区"
    assert result.house == "12栋3单元501室"
    assert result.text == "湖南省长沙市岳麓区望月湖小区12栋3单元501室"
    assert normalise_address("芙蓉区五里牌街道12-3-501").house == "12-3-501"
    assert normalise_address("麓山南路932号").house == "932号"
    assert normalise_address("岳麓区望月湖小区 十二栋").house == "12栋"
    assert normalise_address("岳麓区望月湖小区").house == ""


def test_prefix_of_a_longer_name_is_kept():
    """长沙理工大学 and 湖南大学 are names, not the city or province followed by something."""
    assert normalise_address("长沙理工大学").body == "长沙理工大学"
    assert normalise_address("湖南大学天马学生公寓").body == "湖南大学天马学生公寓"
    known = {"湖南省人民政府"}

    def protected(text, length):
        return any(text.startswith(name) and len(name) > length for name in known)

    assert normalise_address("湖南省人民政府", protected=protected).body == "湖南省人民政府"
    assert normalise_address("湖南省人民政府").body == "人民政府"  # without the gazetteer's help


def test_county_of_the_city_keeps_the_city():
    result = normalise_address("长沙县星沙街道")
    assert result.city_given and not result.other_region
    assert result.body == "长沙县星沙街道"


@pytest.mark.parametrize("raw", ["北京市海淀区中关村大街27号", "湖南省株洲市天元区", "株洲市天元区黄河北路",
                                 "广东省深圳市南山区科技园"])
def test_other_regions_are_recognised_and_not_prefixed(raw):
    result = normalise_address(raw)
    assert result.other_region
    assert not result.text.startswith("湖南省长沙市")


def test_market_is_not_a_city():
    assert not normalise_address("西湖市场").other_region


def test_normalisation_is_fast():
    import time

    address = "湖南省长沙市岳麓区望月湖街道识字里社区居委会１２栋３单元５０１室"
    started = time.perf_counter()
    for _ in range(2000):
        normalise_address(address)
    assert time.perf_counter() - started < 2.0  # ~25 µs each; generous for a busy machine
