"""Build the labelled geocoding evaluation set `data/geocoding/eval_changsha.csv` (GC-2).

    .venv/bin/python scripts/make_geocoding_eval.py [--seed 20260322] [--out data/geocoding/eval_changsha.csv]

Why this script exists
----------------------
"The geocoder is accurate" needs a yardstick that is not the geocoder itself. This script writes about
1,000 addresses from the REAL names of the committed fixture (`data/changsha/`: NBS divisions, OSM
POIs), spelled the way clerks type them — missing province or city, 长沙 vs 长沙市, full-width digits,
spaces, 居委会/村委会/街道办事处 suffixes, bare names, house numbers (12栋3单元501室), stray punctuation,
roads with numbers we cannot locate — each with the answer a careful human would give *from that
text alone*: the expected level and NBS codes (and the POI for estate addresses).

Labels are computed from the data, never from the geocoder: a name shared by two places (two 朝阳社区,
two 东湖小区 far apart) is labelled with what the candidates have in common, because the text does not
say more. POIs are placed in communities with the same polygons the loader uses (shapely here, PostGIS
there); POIs within 1e-5° of a community edge are left out, as their community is a rounding question.

Deterministic: the same fixture and seed give the same file. Needs no database and no Django.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

from shapely import STRtree
from shapely.geometry import Point, shape

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "changsha"
DEFAULT_OUT = ROOT / "data" / "geocoding" / "eval_changsha.csv"
SAME_PLACE_METRES = 300.0
FIELDS = ["id", "address", "expected_level", "district", "street", "community", "poi_osm_id", "poi_name", "variant"]

# Real Changsha roads whose names are not division or POI names (checked below): for road + number.
ROADS = ["人民中路", "五一大道", "解放西路", "劳动西路", "韶山北路", "万家丽中路", "湘江中路",
         "桐梓坡路", "黄兴中路", "蔡锷北路", "八一路", "曙光中路", "潇湘中路",
         "金星中路", "岳麓大道", "雷锋大道", "麓谷大道", "湘府中路", "芙蓉中路"]
OTHER_REGIONS = ["北京市海淀区中关村大街27号", "上海市浦东新区世纪大道100号", "广东省深圳市南山区科技园",
                 "株洲市天元区黄河北路", "湖南省株洲市芦淞区建设中路", "湘潭市岳塘区建设北路8号",
                 "武汉市洪山区珞喻路1037号", "湖南省岳阳市岳阳楼区", "成都市锦江区春熙路", "杭州市西湖区文三路"]
# A POI "named" like a house number (13号楼, 1栋) cannot be told from the house part of an address.
HOUSE_ONLY = re.compile(r"第?[A-Z]{0,2}[\d\-]*[A-Z]?(号院|号楼|号|栋|幢|座|单元|楼|层|室|区|期)?")
ROAD_SUFFIXES = {"路", "大道", "中路", "东路", "西路", "南路", "北路", "一路", "二路", "三路", "四路"}
GIBBERISH = ["不详", "无", "地址不详", "？？？", "123456", "ABC", "同上", "见身份证", "暂无地址", "待补充"]


def _load_clean_text():
    """`gis_core.geocoding.normalise.clean_text` without importing Django (the module is pure)."""
    path = ROOT / "gis_core" / "geocoding" / "normalise.py"
    spec = importlib.util.spec_from_file_location("_geocoding_normalise", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.clean_text, module.strip_admin_suffix


clean_text, strip_admin_suffix = _load_clean_text()


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    x = math.radians(b[0] - a[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    return 6371008.8 * math.hypot(x, math.radians(b[1] - a[1]))


def one_place(pois: list[dict]) -> dict | None:
    """POIs within SAME_PLACE_METRES of their mean point are one place, represented by the POI nearest
    to the mean (ties: west, then south first); None when they are apart (the text is ambiguous)."""
    points = [(float(p["lng"]), float(p["lat"])) for p in pois]
    mean = (sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points))
    distances = [(metres(mean, point), point[0], point[1], index) for index, point in enumerate(points)]
    if max(d[0] for d in distances) > SAME_PLACE_METRES:
        return None
    return pois[min(distances)[3]]


class Fixture:
    """The divisions, POIs and every spelling of a name, read from `data/changsha/`."""

    def __init__(self, data_dir: Path) -> None:
        self.div: dict[str, dict] = {}
        with (data_dir / "divisions.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                self.div[row["code"]] = row
        self.children: dict[str, list[str]] = defaultdict(list)
        for code, row in self.div.items():
            self.children[row["parent_code"]].append(code)
        # division spellings (full and bare), as the geocoder's gazetteer makes them
        self.forms: dict[str, set[str]] = defaultdict(set)
        for code, row in self.div.items():
            if row["level"] == "city" or "虚拟" in row["name"]:
                continue
            for name in (row["name"], row["short_name"]):
                form = clean_text(name)
                self.forms[form].add(code)
                bare = strip_admin_suffix(form)
                if bare != form and len(bare) >= (3 if row["level"] == "community" else 2):
                    self.forms[bare].add(code)
        # community polygons → POI community
        features = json.loads((data_dir / "communities.geojson").read_text(encoding="utf-8"))["features"]
        geoms = [shape(f["geometry"]) for f in features]
        codes = [f["properties"]["code"] for f in features]
        tree = STRtree(geoms)
        self.pois: list[dict] = []
        with (data_dir / "pois.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                point = Point(float(row["lng"]), float(row["lat"]))
                hits = [i for i in tree.query(point) if geoms[i].contains(point)]
                if len(hits) != 1 or geoms[hits[0]].boundary.distance(point) < 1e-5:
                    continue
                row["community"] = codes[hits[0]]
                row["form"] = clean_text(row["name"])
                self.pois.append(row)
        self.pois_by_form: dict[str, list[dict]] = defaultdict(list)
        for poi in self.pois:
            self.pois_by_form[poi["form"]].append(poi)

    def chain(self, code: str) -> dict[str, str]:
        out = {}
        while code in self.div:
            out[self.div[code]["level"]] = code
            code = self.div[code]["parent_code"]
        return out

    def common(self, chains: list[dict[str, str]]) -> tuple[str, dict[str, str]]:
        """The deepest level all chains agree on, and the codes down to it."""
        codes: dict[str, str] = {}
        level = "city"
        for lvl in ("district", "street", "community"):
            values = {c.get(lvl) for c in chains}
            if len(values) != 1 or None in values:
                break
            codes[lvl] = values.pop()
            level = lvl
        return level, codes


class Writer:
    """Composes messy spellings with a seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def prefix(self) -> str:
        return self.rng.choice(["", "", "长沙市", "长沙", "湖南省长沙市", "湖南长沙", "湖南省 长沙市", "长沙市 "])

    def joiner(self) -> str:
        return self.rng.choice(["", "", "", " ", "，", "、", " ", "-"])

    def house(self) -> str:
        return self.rng.choice([
            "", "", "12栋3单元501室", "１２栋３单元５０１室", "十二栋", "3号", "12-3-501", "5栋2单元302",
            "A座1203室", "8号院2栋", "7栋", "二单元301室", "附楼2楼",
        ])

    def fullwidth(self, text: str) -> str:
        if self.rng.random() < 0.15:
            return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text)
        return text

    def compose(self, parts: list[str], *, house: str = "") -> str:
        text = self.prefix()
        for part in parts:
            if part:
                text += self.joiner() + part if text else part
        if house:
            text += self.rng.choice(["", " ", ""]) + house
        if self.rng.random() < 0.05:
            text += self.rng.choice(["。", "；", "!", "（）"])
        return self.fullwidth(text)


def district_text(w: Writer, fx: Fixture, code: str, *, allow_bare: bool = True) -> str:
    row = fx.div[code]
    return w.rng.choice([row["name"], row["name"], row["short_name"] if allow_bare else row["name"]])


def street_text(w: Writer, fx: Fixture, code: str) -> tuple[str, bool]:
    """A spelling of a street and whether it is a bare form."""
    row = fx.div[code]
    name = row["name"]
    if name.endswith("街道"):
        options = [(name, False), (name, False), (name + "办事处", False), (name + "办", False), (row["short_name"], True)]
    elif name.endswith("镇"):
        options = [(name, False), (name, False), (row["short_name"], True)]
    else:
        options = [(name, False)]
    return w.rng.choice(options)


def community_text(w: Writer, fx: Fixture, code: str) -> tuple[str, bool]:
    row = fx.div[code]
    short = row["short_name"]
    if row["kind"] == "village":
        base = short[:-1] if short.endswith("村") else short
        options = [(short, False), (base + "村委会", False), (base + "村民委员会", False)]
    else:
        base = short[:-2] if short.endswith("社区") else short
        options = [(short, False), (row["name"], False), (base + "居委会", False), (base + "社区居委会", False)]
        if len(base) >= 3 and not base.endswith(("路", "街", "大道", "巷")):  # 金星北路 alone is the road
            options.append((base, True))
    return w.rng.choice(options)


def candidates_for(fx: Fixture, form: str, level: str, context: dict[str, str]) -> list[str]:
    """Division codes of ``level`` spelled ``form`` that fit the context codes the text gives."""
    out = []
    for code in fx.forms.get(clean_text(form), ()):
        if fx.div[code]["level"] != level:
            continue
        chain = fx.chain(code)
        if all(chain.get(lvl) == value for lvl, value in context.items()):
            out.append(code)
    return out


def bare_is_safe(fx: Fixture, text: str, code: str) -> bool:
    """A bare spelling names only this unit (no street, district or other community spelled alike)."""
    form = clean_text(text)
    return fx.forms.get(form, set()) == {code} and form not in fx.pois_by_form


def row_for(address: str, level: str, codes: dict[str, str], variant: str, poi: dict | None = None) -> dict:
    return {
        "address": address, "expected_level": level,
        "district": codes.get("district", "") if level != "city" else "",
        "street": codes.get("street", "") if level in ("street", "community", "poi") else "",
        "community": codes.get("community", "") if level in ("community", "poi") else "",
        "poi_osm_id": poi["osm_id"] if poi else "", "poi_name": poi["name"] if poi else "", "variant": variant,
    }


def make_community_rows(w: Writer, fx: Fixture, count: int) -> list[dict]:
    communities = sorted(c for c, r in fx.div.items() if r["level"] == "community" and "虚拟" not in r["name"])
    rows = []
    while len(rows) < count:
        code = w.rng.choice(communities)
        chain = fx.chain(code)
        with_district = w.rng.random() < 0.8
        with_street = w.rng.random() < 0.65
        text, bare = community_text(w, fx, code)
        if bare and not bare_is_safe(fx, text, code):
            continue
        context = {}
        parts = []
        if with_district:
            parts.append(district_text(w, fx, chain["district"]))
            context["district"] = chain["district"]
        if with_street:
            street, street_bare = street_text(w, fx, chain["street"])
            if street_bare and not bare_is_safe(fx, street, chain["street"]):
                street = fx.div[chain["street"]]["name"]
            parts.append(street)
            context["street"] = chain["street"]
        parts.append(text)
        found = candidates_for(fx, text, "community", context)
        if code not in found:
            continue
        # several communities spelled alike in that context: only what they share is known
        level, codes = fx.common([fx.chain(c) for c in found])
        house = w.house()
        variant = "community" + ("+street" if with_street else "") + ("+district" if with_district else "") + (
            "+bare" if bare else "") + ("+house" if house else "")
        rows.append(row_for(w.compose(parts, house=house), level, codes, variant))
    return rows


def make_street_rows(w: Writer, fx: Fixture, count: int) -> list[dict]:
    streets = sorted(c for c, r in fx.div.items() if r["level"] == "street" and r["kind"] != "pseudo")
    rows = []
    while len(rows) < count:
        code = w.rng.choice(streets)
        chain = fx.chain(code)
        text, bare = street_text(w, fx, code)
        if bare and not bare_is_safe(fx, text, code):
            continue
        parts = []
        context = {}
        if w.rng.random() < 0.75:
            parts.append(district_text(w, fx, chain["district"]))
            context["district"] = chain["district"]
        parts.append(text)
        found = candidates_for(fx, text, "street", context)
        if found != [code]:
            continue
        house = ""
        variant = "street" + ("+district" if len(parts) == 2 else "") + ("+bare" if bare else "")
        if w.rng.random() < 0.35:
            parts.append(w.rng.choice(ROADS))
            house = f"{w.rng.randint(1, 999)}号"
            variant += "+road_number"
        rows.append(row_for(w.compose(parts, house=house), "street", chain, variant))
    return rows


def make_district_rows(w: Writer, fx: Fixture, count: int) -> list[dict]:
    districts = sorted(c for c, r in fx.div.items() if r["level"] == "district")
    rows = []
    for _ in range(count):
        code = w.rng.choice(districts)
        parts = [district_text(w, fx, code, allow_bare=False)]
        house = ""
        if w.rng.random() < 0.6:
            parts.append(w.rng.choice(ROADS))
            house = f"{w.rng.randint(1, 999)}号"
        rows.append(row_for(w.compose(parts, house=house), "district", fx.chain(code),
                            "district" + ("+road_number" if house else "")))
    return rows


def make_poi_rows(w: Writer, fx: Fixture, count: int, categories: tuple[str, ...], label: str) -> list[dict]:
    pois = sorted((p for p in fx.pois if p["category"] in categories), key=lambda p: int(p["osm_id"]))
    usable = [
        p for p in pois
        if len(p["form"]) >= 3 and p["form"] not in fx.forms and not p["form"].isdigit()
        and not any(ch.isdigit() for ch in p["form"][-2:]) and not HOUSE_ONLY.fullmatch(p["form"])
    ]
    rows = []
    seen: set[str] = set()
    while len(rows) < count and len(seen) < len(usable):
        poi = w.rng.choice(usable)
        if poi["osm_id"] in seen:
            continue
        seen.add(poi["osm_id"])
        chain = fx.chain(poi["community"])
        context = {}
        parts = []
        if w.rng.random() < 0.7:
            parts.append(district_text(w, fx, chain["district"]))
            context["district"] = chain["district"]
        if w.rng.random() < 0.35:
            street, street_bare = street_text(w, fx, chain["street"])
            if street_bare and not bare_is_safe(fx, street, chain["street"]):
                street = fx.div[chain["street"]]["name"]
            parts.append(street)
            context["street"] = chain["street"]
        if w.rng.random() < 0.15:
            parts.append(fx.div[chain["community"]]["short_name"])
            context["community"] = chain["community"]
        name = poi["name"]
        if w.rng.random() < 0.3:
            name = name.replace("·", "").replace(".", "")
        if w.rng.random() < 0.1 and len(name) > 3:
            name = name[:2] + " " + name[2:]
        if categories == ("residential",) and w.rng.random() < 0.1 and not name.endswith(("小区", "园", "苑", "城")):
            name += "小区"  # 中航城 written 中航城小区
        parts.append(name)
        same = [p for p in fx.pois_by_form[poi["form"]]
                if all(fx.chain(p["community"]).get(k) == v for k, v in context.items())]
        house = w.house() if categories == ("residential",) else ""
        variant = label + "".join(f"+{k}" for k in context) + ("+house" if house else "")
        address = w.compose(parts, house=house)
        representative = one_place(same)
        if representative is not None:
            rows.append(row_for(address, "poi", fx.chain(representative["community"]), variant, representative))
        else:
            level, codes = fx.common([fx.chain(p["community"]) for p in same])
            rows.append(row_for(address, level, codes, variant + "+ambiguous"))
    return rows


FAKE_FIRST = "金银翠锦华嘉富瑞祥泰和康怡逸雅馨悦朗御铂尚"
FAKE_SECOND = ["花园", "家园", "雅苑", "名居", "公馆", "华府", "新城", "佳苑", "山庄", "雅居"]


def make_unknown_estate_rows(w: Writer, fx: Fixture, count: int) -> list[dict]:
    """Estates that are not in our data (made-up names): the answer must stop at the admin units given."""
    communities = sorted(c for c, r in fx.div.items() if r["level"] == "community" and "虚拟" not in r["name"])
    rows = []
    while len(rows) < count:
        name = "".join(w.rng.sample(FAKE_FIRST, 2)) + w.rng.choice(FAKE_SECOND)
        form = clean_text(name)
        pieces = {form[a:b] for a in range(len(form)) for b in range(a + 2, len(form) + 1)}
        if pieces & (set(fx.forms) | set(fx.pois_by_form)):
            continue  # contains a real name
        chain = fx.chain(w.rng.choice(communities))
        parts = [fx.div[chain["district"]]["name"], fx.div[chain["street"]]["name"]]
        level = "street"
        if w.rng.random() < 0.4:
            parts.append(fx.div[chain["community"]]["short_name"])
            level = "community"
        parts.append(name)
        rows.append(row_for(w.compose(parts, house=w.house()), level, chain, f"unknown_estate+{level}"))
    return rows


def make_city_rows(w: Writer, fx: Fixture, count: int) -> list[dict]:
    rows = []
    for _ in range(count):
        road = w.rng.choice(ROADS)
        prefix = w.rng.choice(["长沙市", "湖南省长沙市", "长沙", "湖南长沙"])
        address = w.fullwidth(prefix + w.joiner() + road + f"{w.rng.randint(1, 999)}号")
        rows.append(row_for(address, "city", {}, "city+road_number"))
    return rows


def make_none_rows(w: Writer, count: int) -> list[dict]:
    pool = OTHER_REGIONS + GIBBERISH
    return [row_for(pool[i % len(pool)], "none", {}, "other_region" if i % len(pool) < len(OTHER_REGIONS)
                    else "gibberish") for i in range(count)]


def check_roads(fx: Fixture) -> None:
    """No road may spell a division or POI name, except a bare name directly before a road suffix
    (芙蓉中路, 雷锋大道), which the geocoder reads as the road."""
    bare_forms = {strip_admin_suffix(form) for form in fx.forms} | {
        clean_text(r["short_name"]) for r in fx.div.values()}
    for road in ROADS:
        form = clean_text(road)
        for start in range(len(form)):
            for end in range(start + 2, len(form) + 1):
                piece = form[start:end]
                if piece not in fx.forms and piece not in fx.pois_by_form:
                    continue
                if piece in bare_forms and form[end:] in ROAD_SUFFIXES:
                    continue
                if len(piece) >= 3 or piece in fx.pois_by_form:
                    raise SystemExit(f"road {road} contains the name {piece}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20260322)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    fx = Fixture(DATA)
    check_roads(fx)
    w = Writer(random.Random(args.seed))
    rows = (
        make_community_rows(w, fx, 370)
        + make_unknown_estate_rows(w, fx, 40)
        + make_poi_rows(w, fx, 250, ("residential",), "estate")
        + make_poi_rows(w, fx, 70, ("bank", "school", "hospital", "market", "hotel", "government"), "poi")
        + make_street_rows(w, fx, 130)
        + make_district_rows(w, fx, 60)
        + make_city_rows(w, fx, 40)
        + make_none_rows(w, 40)
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for number, row in enumerate(rows, start=1):
            writer.writerow({"id": number, **row})
    levels = defaultdict(int)
    for row in rows:
        levels[row["expected_level"]] += 1
    print(f"{len(rows)} addresses -> {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
          f" ({args.out.stat().st_size // 1024} KB); by level: {dict(sorted(levels.items()))}")


if __name__ == "__main__":
    main()
