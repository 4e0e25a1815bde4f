"""The filter language of segments and rule tags (CR-4, CR-5), and its compiler to a Django `Q`.

Why it exists: a segment (客群) and a rule tag are both "the customers matching a definition". The
definition is stored JSON, written by a condition builder in the browser, so it must be validated
before it is trusted, versioned so that it can evolve, and compiled to ONE SQL predicate over
`crm_customer` (the count, the map preview and the materialisation all run the same predicate).

    {"v": 1,
     "all": [
        {"field": "status", "op": "eq", "value": "formal"},
        {"any": [{"tag": "vip"}, {"product": "DEP-1Y", "min_balance": 50000}]},
        {"not": {"field": "age", "op": "between", "value": [18, 25]}},
        {"grid_subtree": 42},
        {"within_polygon": {"type": "Polygon", "coordinates": [...]}, "crs": "gcj02"},
        {"within_distance_of_outlet": {"institution": 7, "metres": 800}}
     ]}

Groups: `all` (AND; empty = everyone), `any` (OR; empty = no one), `not`. Leaves: `field` (with
`op` eq/in/between/gte/lte and `value`), `tag`, `tags_any`, `product` (+ `min_balance`),
`product_category` (+ `min_balance`), `grid_subtree`, `within_polygon` (+ `crs`, converted through
gis_core.crs), `within_distance_of_outlet`, `import_batch`. The root carries `"v": 1` and may hold
any node (or nothing: every customer).

Every problem is reported with the JSON path of the node that has it (`$.all[1].any[0]`), all at
once, as one 400 `segment_definition_invalid`. The compiler applies NO data scope: callers start
from `Customer.objects.for_actor(actor)` (segments) or the whole bank (rule tags) and filter by the
returned `Q` — see crm.segments.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.choices import ArchiveType, CustomerKind, CustomerStatus, Gender, GeocodeStatus, ProductCategory
from gis_core.crs import CRS, UnknownCRSError, convert_geometry, parse_crs
from gis_core.errors import ValidationFailed

FILTER_VERSION = 1
MAX_DEPTH = 12
MAX_NODES = 300
MAX_LIST = 1000
MAX_POLYGON_VERTICES = 10_000
MAX_DISTANCE_METRES = 100_000

GROUP_KEYS = ("all", "any", "not")
LEAF_KEYS = (
    "field", "tag", "tags_any", "product", "product_category", "grid_subtree", "within_polygon",
    "within_distance_of_outlet", "import_batch",
)
# Keys a leaf may carry besides its own.
LEAF_EXTRA_KEYS: dict[str, set[str]] = {
    "field": {"op", "value"},
    "product": {"min_balance"},
    "product_category": {"min_balance"},
    "within_polygon": {"crs"},
}

CHOICE_FIELDS = {
    "kind": CustomerKind,
    "status": CustomerStatus,
    "archive_type": ArchiveType,
    "gender": Gender,
    "geocode_status": GeocodeStatus,
}
FIELD_OPS: dict[str, tuple[str, ...]] = {
    **{name: ("eq", "in") for name in CHOICE_FIELDS},
    "manager": ("eq", "in"),
    "institution_subtree": ("eq", "in"),
    "age": ("eq", "in", "between", "gte", "lte"),
    "birth_month": ("eq", "in", "between", "gte", "lte"),
    "created_at": ("eq", "between", "gte", "lte"),
}
INT_RANGES = {"age": (0, 150), "birth_month": (1, 12)}
# Grid level → membership column on Customer (kept by grids.membership).
LEVEL_COLUMNS = {"district": "grid_district", "street": "grid_street", "community": "grid_community", "building": "grid_building"}

DEFINITION_INVALID = "segment_definition_invalid"
# "No one": ids are positive. (Not `pk__in=[]`, which Django cannot turn into SQL on its own.)
NOBODY = Q(pk__lt=0)


@dataclass(frozen=True)
class Problem:
    """One problem of a definition: where (JSON path of the node), what (stable code), and why."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass
class _Compiler:
    """Walks a definition once, collecting every problem and building the predicate."""

    problems: list[Problem] = field(default_factory=list)
    nodes: int = 0

    def fail(self, path: str, code: str, message: str) -> Q:
        self.problems.append(Problem(path, code, str(message)))
        return Q()

    # --- structure --------------------------------------------------------------------------
    def node(self, node: Any, path: str, depth: int) -> Q:
        self.nodes += 1
        if self.nodes == MAX_NODES + 1:
            return self.fail(path, "too_many_conditions", _("条件过多，最多 {n} 个").format(n=MAX_NODES))
        if self.nodes > MAX_NODES:
            return Q()
        if depth > MAX_DEPTH:
            return self.fail(path, "too_deep", _("条件嵌套过深，最多 {n} 层").format(n=MAX_DEPTH))
        if not isinstance(node, dict):
            return self.fail(path, "not_an_object", _("条件须为对象"))
        kinds = [k for k in (*GROUP_KEYS, *LEAF_KEYS) if k in node]
        if len(kinds) != 1:
            if not kinds:
                unknown = sorted(set(node) - {"v"})
                if unknown:
                    return self.fail(path, "unknown_condition", _("无法识别的条件：{keys}").format(keys=", ".join(unknown)))
                return self.fail(path, "empty_condition", _("条件为空"))
            return self.fail(path, "ambiguous_condition", _("一个条件只能是一种：{keys}").format(keys=", ".join(kinds)))
        kind = kinds[0]
        allowed = {kind} | LEAF_EXTRA_KEYS.get(kind, set())
        extra = sorted(set(node) - allowed - ({"v"} if path == "$" else set()))
        if extra:
            return self.fail(path, "unknown_key", _("条件含有无法识别的属性：{keys}").format(keys=", ".join(extra)))
        if kind == "all":
            return self.group(node["all"], f"{path}.all", depth, conjunction=True)
        if kind == "any":
            return self.group(node["any"], f"{path}.any", depth, conjunction=False)
        if kind == "not":
            inner = self.node(node["not"], f"{path}.not", depth + 1)
            return ~inner if inner else NOBODY  # not(everyone) = no one
        return getattr(self, f"leaf_{kind}")(node, path)

    def group(self, children: Any, path: str, depth: int, *, conjunction: bool) -> Q:
        if not isinstance(children, list):
            return self.fail(path, "not_a_list", _("条件组须为列表"))
        if not children:
            return Q() if conjunction else NOBODY
        parts = [self.node(child, f"{path}[{index}]", depth + 1) for index, child in enumerate(children)]
        if not conjunction and any(not part for part in parts):
            return Q()  # one alternative is "everyone" (an empty `all`)
        out = parts[0]
        for part in parts[1:]:
            out = out & part if conjunction else out | part
        return out

    # --- leaves: attributes -------------------------------------------------------------------
    def leaf_field(self, node: dict, path: str) -> Q:
        name, op, value = node.get("field"), node.get("op"), node.get("value")
        if name not in FIELD_OPS:
            return self.fail(path, "unknown_field", _("无法识别的字段：{field}").format(field=name))
        if op not in FIELD_OPS[name]:
            return self.fail(
                path, "unknown_op", _("字段 {field} 不支持运算 {op}（可用：{ops}）").format(field=name, op=op, ops=", ".join(FIELD_OPS[name]))
            )
        if name in CHOICE_FIELDS:
            return self.choice(name, op, value, path)
        if name == "manager":
            return self.manager(op, value, path)
        if name == "institution_subtree":
            return self.institution_subtree(op, value, path)
        if name == "created_at":
            return self.created_at(op, value, path)
        return self.int_field(name, op, value, path)

    def _values(self, op: str, value: Any, path: str) -> list | None:
        if op == "in":
            if not isinstance(value, list) or not value:
                self.fail(path, "bad_value", _("运算 in 的值须为非空列表"))
                return None
            if len(value) > MAX_LIST:
                self.fail(path, "bad_value", _("列表过长，最多 {n} 项").format(n=MAX_LIST))
                return None
            return value
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.fail(path, "bad_value", _("运算 between 的值须为 [下限, 上限]"))
                return None
            return value
        return [value]

    def choice(self, name: str, op: str, value: Any, path: str) -> Q:
        values = self._values(op, value, path)
        if values is None:
            return Q()
        allowed = set(CHOICE_FIELDS[name].values)
        bad = [v for v in values if not isinstance(v, str) or v not in allowed]
        if bad:
            return self.fail(path, "bad_value", _("字段 {field} 的取值无效：{values}").format(field=name, values=bad))
        return Q(**{name: values[0]}) if op == "eq" else Q(**{f"{name}__in": values})

    def manager(self, op: str, value: Any, path: str) -> Q:
        values = self._values(op, value, path)
        if values is None:
            return Q()
        if op == "eq" and value is None:
            return Q(manager__isnull=True)
        if not all(_is_id(v) for v in values):
            return self.fail(path, "bad_value", _("客户经理须为用户编号"))
        return Q(manager_id=values[0]) if op == "eq" else Q(manager_id__in=values)

    def institution_subtree(self, op: str, value: Any, path: str) -> Q:
        from gis_core.models import Institution

        values = self._values(op, value, path)
        if values is None:
            return Q()
        if not all(_is_id(v) for v in values):
            return self.fail(path, "bad_value", _("机构须为机构编号"))
        paths = dict(Institution.objects.filter(pk__in=values).values_list("pk", "path"))
        missing = [v for v in values if v not in paths]
        if missing:
            return self.fail(path, "unknown_institution", _("机构不存在：{ids}").format(ids=missing))
        out = Q()
        for index, pk in enumerate(values):
            q = Q(institution__path__startswith=paths[pk])
            out = q if index == 0 else out | q
        return out

    def int_field(self, name: str, op: str, value: Any, path: str) -> Q:
        values = self._values(op, value, path)
        if values is None:
            return Q()
        low, high = INT_RANGES[name]
        if not all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in values):
            return self.fail(path, "bad_value", _("字段 {field} 的取值须为 {low} 到 {high} 的整数").format(field=name, low=low, high=high))
        if op == "between" and values[0] > values[1]:
            return self.fail(path, "bad_value", _("区间的下限不能大于上限"))
        ranges = {"eq": [(values[0], values[0])], "in": [(v, v) for v in values], "between": [tuple(values)],
                  "gte": [(values[0], None)], "lte": [(None, values[0])]}[op]
        out: Q | None = None
        for lo, hi in ranges:
            q = _age_range(lo, hi) if name == "age" else _month_range(lo, hi)
            out = q if out is None else out | q
        return out

    def created_at(self, op: str, value: Any, path: str) -> Q:
        values = self._values(op, value, path)
        if values is None:
            return Q()
        days = [_parse_date(v) for v in values]
        if any(d is None for d in days):
            return self.fail(path, "bad_value", _("日期格式应为 YYYY-MM-DD"))
        if op == "between" and days[0] > days[1]:
            return self.fail(path, "bad_value", _("区间的下限不能大于上限"))
        lo: dt.date | None = days[0] if op in ("eq", "between", "gte") else None
        hi: dt.date | None = days[-1] if op in ("eq", "between", "lte") else None
        q = Q()
        if lo is not None:
            q &= Q(created_at__gte=_start_of(lo))
        if hi is not None:
            q &= Q(created_at__lt=_start_of(hi + dt.timedelta(days=1)))
        return q

    # --- leaves: tags and products ------------------------------------------------------------
    def _tag_ids(self, codes: list, path: str) -> list[int] | None:
        from crm.models import Tag

        if not all(isinstance(c, str) and c for c in codes):
            self.fail(path, "bad_value", _("标签须为标签代码"))
            return None
        ids = dict(Tag.objects.filter(code__in=codes).values_list("code", "pk"))
        missing = [c for c in codes if c not in ids]
        if missing:
            self.fail(path, "unknown_tag", _("标签不存在：{codes}").format(codes=", ".join(missing)))
            return None
        return [ids[c] for c in codes]

    def leaf_tag(self, node: dict, path: str) -> Q:
        from crm.models import CustomerTag

        ids = self._tag_ids([node["tag"]], path)
        if ids is None:
            return Q()
        return Q(Exists(CustomerTag.objects.filter(customer_id=OuterRef("pk"), tag_id=ids[0])))

    def leaf_tags_any(self, node: dict, path: str) -> Q:
        from crm.models import CustomerTag

        codes = node["tags_any"]
        if not isinstance(codes, list) or not codes or len(codes) > MAX_LIST:
            return self.fail(path, "bad_value", _("tags_any 须为非空的标签代码列表"))
        ids = self._tag_ids(codes, path)
        if ids is None:
            return Q()
        return Q(Exists(CustomerTag.objects.filter(customer_id=OuterRef("pk"), tag_id__in=ids)))

    def _min_balance(self, node: dict, path: str) -> tuple[bool, float | None]:
        value = node.get("min_balance")
        if value is None:
            return True, None
        if not _is_number(value) or value < 0:
            self.fail(path, "bad_value", _("最低余额须为不小于 0 的数字"))
            return False, None
        return True, value

    def leaf_product(self, node: dict, path: str) -> Q:
        from crm.models import CustomerProduct, Product

        code = node["product"]
        ok, min_balance = self._min_balance(node, path)
        if not isinstance(code, str) or not code:
            return self.fail(path, "bad_value", _("产品须为产品代码"))
        product_id = Product.objects.filter(code=code).values_list("pk", flat=True).first()
        if product_id is None:
            return self.fail(path, "unknown_product", _("产品不存在：{code}").format(code=code))
        if not ok:
            return Q()
        holdings = CustomerProduct.objects.filter(customer_id=OuterRef("pk"), product_id=product_id)
        if min_balance is not None:
            holdings = holdings.filter(balance__gte=min_balance)
        return Q(Exists(holdings))

    def leaf_product_category(self, node: dict, path: str) -> Q:
        from crm.models import CustomerProduct, Product

        value = node["product_category"]
        categories = value if isinstance(value, list) else [value]
        allowed = set(ProductCategory.values)
        if not categories or not all(isinstance(c, str) and c in allowed for c in categories):
            return self.fail(path, "bad_value", _("产品类别无效：{value}").format(value=value))
        ok, min_balance = self._min_balance(node, path)
        if not ok:
            return Q()
        # the category's products by id: the probe stays on the (customer, product) unique index
        product_ids = list(Product.objects.filter(category__in=categories).values_list("pk", flat=True))
        if not product_ids:
            return NOBODY
        holdings = CustomerProduct.objects.filter(customer_id=OuterRef("pk"), product_id__in=product_ids)
        if min_balance is not None:
            holdings = holdings.filter(balance__gte=min_balance)
        return Q(Exists(holdings))

    # --- leaves: places -----------------------------------------------------------------------
    def leaf_grid_subtree(self, node: dict, path: str) -> Q:
        from grids.choices import GridKind
        from grids.models import Grid

        pk = node["grid_subtree"]
        if not _is_id(pk):
            return self.fail(path, "bad_value", _("网格须为网格编号"))
        grid = Grid.objects.filter(pk=pk).only("pk", "kind", "level", "geom").first()
        if grid is None:
            return self.fail(path, "unknown_grid", _("网格不存在：{id}").format(id=pk))
        if grid.kind == GridKind.PHYSICAL and grid.level in LEVEL_COLUMNS:
            return Q(**{f"{LEVEL_COLUMNS[grid.level]}_id": grid.pk})
        if grid.kind == GridKind.PHYSICAL:
            # A level above the membership columns (the city): its subtree's top-level column grids.
            return Q(grid_district_id__in=_descendants_at_level(grid.pk, "district"))
        return Q(location__intersects=grid.geom)  # virtual grids have no membership column

    def leaf_within_polygon(self, node: dict, path: str) -> Q:
        geometry = node["within_polygon"]
        try:
            crs = parse_crs(node.get("crs", "wgs84"))
        except UnknownCRSError:
            return self.fail(path, "bad_crs", _("坐标系无效，可用 wgs84、gcj02、bd09"))
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            return self.fail(path, "bad_geometry", _("须为 GeoJSON 多边形（Polygon）"))
        if _count_positions(geometry.get("coordinates")) > MAX_POLYGON_VERTICES:
            return self.fail(path, "bad_geometry", _("多边形顶点过多，最多 {n} 个").format(n=MAX_POLYGON_VERTICES))
        try:
            geom = GEOSGeometry(json.dumps(geometry))
        except (GEOSException, ValueError, TypeError):
            return self.fail(path, "bad_geometry", _("多边形坐标无效"))
        if not isinstance(geom, (Polygon, MultiPolygon)) or geom.empty:
            return self.fail(path, "bad_geometry", _("须为 GeoJSON 多边形（Polygon）"))
        xmin, ymin, xmax, ymax = geom.extent
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            return self.fail(path, "bad_geometry", _("多边形坐标超出经纬度范围"))
        if not geom.valid:
            return self.fail(path, "bad_geometry", _("多边形无效（自相交或环未闭合）：{reason}").format(reason=geom.valid_reason))
        geom.srid = 4326
        if crs != CRS.WGS84:
            geom = convert_geometry(geom, src=crs, dst=CRS.WGS84)
        return Q(location__intersects=geom)

    def leaf_within_distance_of_outlet(self, node: dict, path: str) -> Q:
        from gis_core.models import Institution

        spec = node["within_distance_of_outlet"]
        if not isinstance(spec, dict) or set(spec) - {"institution", "metres"}:
            return self.fail(path, "bad_value", _("须给出机构编号 institution 和距离 metres（米）"))
        pk, metres = spec.get("institution"), spec.get("metres")
        if not _is_id(pk):
            return self.fail(path, "bad_value", _("机构须为机构编号"))
        if not _is_number(metres) or not 0 < metres <= MAX_DISTANCE_METRES:
            return self.fail(path, "bad_value", _("距离须在 0 到 {n} 米之间").format(n=MAX_DISTANCE_METRES))
        location = Institution.objects.filter(pk=pk).values_list("location", flat=True).first()
        if location is None:
            if not Institution.objects.filter(pk=pk).exists():
                return self.fail(path, "unknown_institution", _("机构不存在：{ids}").format(ids=[pk]))
            return self.fail(path, "institution_without_location", _("该机构没有位置，无法按距离筛选"))
        lng, lat = location.x, location.y
        # An envelope a little larger than the circle lets the point index do the first cut.
        dlat = metres / 110_574 * 1.02
        dlng = metres / (111_320 * max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)) * 1.02
        envelope = Polygon.from_bbox((lng - dlng, lat - dlat, lng + dlng, lat + dlat))
        envelope.srid = 4326
        return Q(location__isnull=False) & Q(location__bboverlaps=envelope) & Q(GeographyDWithin(F("location"), lng=lng, lat=lat, metres=metres))

    def leaf_import_batch(self, node: dict, path: str) -> Q:
        from crm.models import ImportBatch

        pk = node["import_batch"]
        if not _is_id(pk):
            return self.fail(path, "bad_value", _("导入批次须为批次编号"))
        if not ImportBatch.objects.filter(pk=pk).exists():
            return self.fail(path, "unknown_import_batch", _("导入批次不存在：{id}").format(id=pk))
        return Q(import_batch_id=pk)


class GeographyDWithin(Func):
    """`ST_DWithin(location::geography, point::geography, metres)`: distance in metres on the
    spheroid (Django's `dwithin` on a 4326 geometry field only takes degrees)."""

    output_field = BooleanField()

    def __init__(self, expression: Any, *, lng: float, lat: float, metres: float) -> None:
        super().__init__(expression)
        self.lng, self.lat, self.metres = float(lng), float(lat), float(metres)

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"ST_DWithin(({sql})::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s)",
            [*params, self.lng, self.lat, self.metres],
        )


# --- public API ---------------------------------------------------------------------------------
def definition_problems(definition: Any) -> list[Problem]:
    """Every problem of a definition (empty when it is valid). Looks up the tags, products, grids,
    institutions and batches it names."""
    return _compile(definition)[1]


def definition_compile(definition: Any) -> Q:
    """The predicate over Customer of a valid definition; ValidationFailed (400
    `segment_definition_invalid`, details {path, errors: [{path, code, message}]}) otherwise."""
    q, problems = _compile(definition)
    if problems:
        raise ValidationFailed(
            _("客群规则有误：{message}（位置 {path}）").format(message=problems[0].message, path=problems[0].path),
            code=DEFINITION_INVALID,
            details={"path": problems[0].path, "errors": [p.as_dict() for p in problems]},
        )
    return q


def definition_tag_codes(definition: Any) -> set[str]:
    """The tag codes a definition names (for the tag catalogue's "still used" check)."""
    return {code for key, value in _walk(definition) for code in ([value] if key == "tag" else value if key == "tags_any" else [])
            if isinstance(code, str)}


def _compile(definition: Any) -> tuple[Q, list[Problem]]:
    compiler = _Compiler()
    if not isinstance(definition, dict):
        return Q(), [Problem("$", "not_an_object", _("客群规则须为对象"))]
    if definition.get("v") != FILTER_VERSION:
        compiler.fail("$.v", "bad_version", _("规则版本须为 {v}").format(v=FILTER_VERSION))
    if set(definition) <= {"v"}:
        return Q(), compiler.problems  # no condition: every customer in scope
    q = compiler.node(definition, "$", 0)
    return q, compiler.problems


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


# --- helpers ------------------------------------------------------------------------------------
def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count_positions(coords: Any) -> int:
    if isinstance(coords, list):
        if coords and all(isinstance(c, (int, float)) for c in coords):
            return 1
        return sum(_count_positions(c) for c in coords)
    return 0


def _parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def _age_range(low: int | None, high: int | None) -> Q:
    """Age in whole years today within [low, high]: born on or before today−low years and after
    today−(high+1) years. Customers without a birth date never match."""
    today = timezone.localdate()
    q = Q(birth_date__isnull=False)
    if low is not None:
        q &= Q(birth_date__lte=_years_before(today, low))
    if high is not None:
        q &= Q(birth_date__gt=_years_before(today, high + 1))
    return q


def _month_range(low: int | None, high: int | None) -> Q:
    q = Q(birth_date__isnull=False)
    if low is not None:
        q &= Q(birth_date__month__gte=low)
    if high is not None:
        q &= Q(birth_date__month__lte=high)
    return q


def _descendants_at_level(grid_id: int, level: str) -> list[int]:
    """Ids of the descendants of a grid at one level (a recursive CTE over `parent`)."""
    from django.db import connection

    from grids.models import Grid

    table = Grid._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH RECURSIVE sub AS (
                    SELECT id, level FROM {table} WHERE id = %s
                    UNION ALL SELECT g.id, g.level FROM {table} g JOIN sub ON g.parent_id = sub.id
                ) SELECT id FROM sub WHERE level = %s""",
            [grid_id, level],
        )
        return [row[0] for row in cursor.fetchall()] or [0]
