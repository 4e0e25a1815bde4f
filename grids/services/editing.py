"""Create, update, retire, split, merge and import grids (GR-1, GR-2, GR-4), with the rules:

1. valid geometry — rejected with where and why, never silently repaired;
2. a child inside its parent (1 m tolerance);
3. no overlap between siblings: physical grids of one parent; virtual grids of the *territorial*
   types (industrial park, business district) of the same type anywhere. Vertical-industry,
   supply-chain and enterprise grids describe relationships rather than territory and may overlap;
   virtual grids may always overlap physical ones;
4. a minimum area;
5. optimistic locking: an edit carries the version it was based on; a stale one gets 409.

Edits of one sibling group are serialised by a transaction-level advisory lock, so two editors can
never both pass the overlap check with overlapping shapes.
"""
from __future__ import annotations

import zlib
from typing import Any, Iterable, Sequence

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, LineString
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gis_core.errors import ValidationFailed
from gis_core.models import AdminDivision, Institution
from grids import geometry as geo
from grids.choices import GridKind, GridLevel, GridStatus, HistoryAction, VirtualType, child_level
from grids.models import Grid, GridAssignment
from grids.services.common import (
    check_scope,
    check_version,
    geometry_error,
    lock_grid,
    record,
    snapshot,
    to_geos,
    to_shapely,
)

TERRITORIAL_VIRTUAL_TYPES = {VirtualType.INDUSTRIAL_PARK, VirtualType.BUSINESS_DISTRICT}


def min_area_m2() -> float:
    return float(getattr(settings, "GRID_MIN_AREA_M2", 100.0))


def _lock_group(*, kind: str, parent_id: int | None, virtual_type: str = "") -> None:
    key = f"grids:{kind}:{parent_id or 0}" if kind == GridKind.PHYSICAL else f"grids:virtual:{virtual_type}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(key.encode())])


def _sibling_candidates(*, kind: str, parent_id: int | None, virtual_type: str, shape, exclude: Iterable[int] = ()):
    """Active grids the shape must not overlap, pre-filtered by bounding box in the database."""
    if kind == GridKind.PHYSICAL:
        qs = Grid.objects.filter(kind=GridKind.PHYSICAL, parent_id=parent_id)
    elif virtual_type in TERRITORIAL_VIRTUAL_TYPES:
        qs = Grid.objects.filter(kind=GridKind.VIRTUAL, virtual_type=virtual_type)
    else:
        return []
    envelope = GEOSGeometry(shape.envelope.wkt, srid=4326)
    qs = qs.filter(status=GridStatus.ACTIVE, geom__bboverlaps=envelope).exclude(pk__in=list(exclude))
    return [(g.pk, g.name, to_shapely(g.geom)) for g in qs.only("id", "name", "geom")]


def _check_structure(*, kind: str, level: str, virtual_type: str, parent: Grid | None) -> None:
    if kind == GridKind.PHYSICAL:
        if level not in GridLevel.values:
            raise ValidationFailed(_("实体网格必须指定层级"), code="grid_level_required")
        if virtual_type:
            raise ValidationFailed(_("实体网格不能指定虚拟网格类型"), code="grid_virtual_type_not_allowed")
        if parent is not None:
            if parent.kind != GridKind.PHYSICAL:
                raise ValidationFailed(_("实体网格的上级必须是实体网格"), code="grid_parent_invalid")
            expected = child_level(parent.level)
            if level != expected:
                raise ValidationFailed(
                    _("「%(parent)s」的下级网格应为%(level)s级") % {"parent": parent.name, "level": GridLevel(expected).label if expected else "-"},
                    code="grid_level_invalid",
                    details={"expected_level": expected},
                )
    elif kind == GridKind.VIRTUAL:
        if virtual_type not in VirtualType.values:
            raise ValidationFailed(_("虚拟网格必须指定类型"), code="grid_virtual_type_required")
        if level:
            raise ValidationFailed(_("虚拟网格不设层级"), code="grid_level_not_allowed")
        if parent is not None and parent.kind != GridKind.PHYSICAL:
            raise ValidationFailed(_("虚拟网格的上级必须是实体网格"), code="grid_parent_invalid")
    else:
        raise ValidationFailed(_("未知的网格类型"), code="grid_kind_invalid")
    if parent is not None and parent.status != GridStatus.ACTIVE:
        raise ValidationFailed(_("上级网格已撤销"), code="grid_parent_retired")


def check_geometry_rules(
    *, shape, kind: str, virtual_type: str, parent: Grid | None, exclude: Iterable[int] = (), feature: Any = None
):
    """Run rules 1–4 on a shapely geometry; returns it as a MultiPolygon or raises ValidationFailed."""
    try:
        shape = geo.validate_grid_geometry(shape, min_area_m2=min_area_m2())
        if parent is not None:
            geo.check_inside_parent(shape, to_shapely(parent.geom), tolerance_m=1.0)
        siblings = _sibling_candidates(
            kind=kind, parent_id=parent.pk if parent else None, virtual_type=virtual_type, shape=shape, exclude=exclude
        )
        geo.assert_no_overlap(shape, siblings)
    except geo.GeometryError as exc:
        raise geometry_error(exc, feature=feature) from None
    return shape


def _check_children_inside(grid: Grid, shape) -> None:
    for child in Grid.objects.filter(parent=grid, status=GridStatus.ACTIVE).only("id", "name", "geom"):
        try:
            geo.check_inside_parent(to_shapely(child.geom), shape, tolerance_m=1.0)
        except geo.GeometryError as exc:
            err = geometry_error(exc)
            err.code = "grid_children_outside"
            err.message = _("下级网格「%(name)s」将超出新边界") % {"name": child.name}
            err.details["child_id"] = child.pk
            raise err from None


def _unique_code(code: str) -> None:
    if Grid.objects.filter(code=code).exists():
        raise ValidationFailed(_("网格编码「%(code)s」已存在") % {"code": code}, code="grid_code_taken", details={"code": code})


def replace_points_later(*areas) -> None:
    """After commit, re-place the points of every registered table inside the changed areas."""
    from grids.tasks import points_replace_in_area

    wkts = [a.wkt for a in areas if a is not None]
    if wkts:
        transaction.on_commit(lambda: points_replace_in_area.delay(area_wkts=wkts))


@transaction.atomic
def grid_create(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    geom: GEOSGeometry,
    institution: Institution,
    parent: Grid | None = None,
    level: str = "",
    virtual_type: str = "",
    business_lines: Sequence[str] = (),
    description: str = "",
    division: AdminDivision | None = None,
    reason: str = "",
    history_action: str = HistoryAction.CREATED,
) -> Grid:
    """Add a physical or virtual grid after checking every rule."""
    check_scope(actor, institution.path)
    if parent is not None:
        check_scope(actor, parent.institution.path)
    _check_structure(kind=kind, level=level, virtual_type=virtual_type, parent=parent)
    _lock_group(kind=kind, parent_id=parent.pk if parent else None, virtual_type=virtual_type)
    _unique_code(code)
    shape = check_geometry_rules(shape=to_shapely(geom), kind=kind, virtual_type=virtual_type, parent=parent)
    grid = Grid.objects.create(
        kind=kind, level=level, virtual_type=virtual_type, parent=parent, code=code, name=name,
        business_lines=sorted(set(business_lines)), institution=institution, division=division,
        geom=to_geos(shape), area_m2=geo.area_m2(shape), description=description,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        updated_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record(grid=grid, action=history_action, actor=actor, geom_changed=True, reason=reason)
    replace_points_later(grid.geom)
    return grid


@transaction.atomic
def grid_update(*, actor: Any, grid: Grid, expected_version: int | None, reason: str = "", **changes: Any) -> Grid:
    """Change a grid's geometry and/or attributes (name, code, business_lines, description,
    institution). Geometry changes re-run the rules and keep children inside."""
    allowed = {"geom", "name", "code", "business_lines", "description", "institution"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(details={k: [_("不可修改")] for k in sorted(unknown)})
    check_scope(actor, grid.institution.path)
    _lock_group(kind=grid.kind, parent_id=grid.parent_id, virtual_type=grid.virtual_type)
    grid = lock_grid(grid.pk)
    check_version(grid, expected_version)
    if grid.status != GridStatus.ACTIVE:
        raise ValidationFailed(_("已撤销的网格不能修改"), code="grid_retired")
    before, geom_before = snapshot(grid), grid.geom
    geom_changed = False
    if "geom" in changes and changes["geom"] is not None:
        shape = check_geometry_rules(
            shape=to_shapely(changes["geom"]), kind=grid.kind, virtual_type=grid.virtual_type, parent=grid.parent, exclude=[grid.pk]
        )
        _check_children_inside(grid, shape)
        grid.geom, grid.area_m2, geom_changed = to_geos(shape), geo.area_m2(shape), True
    if "code" in changes and changes["code"] != grid.code:
        _unique_code(changes["code"])
        grid.code = changes["code"]
    if "institution" in changes:
        check_scope(actor, changes["institution"].path)
        grid.institution = changes["institution"]
    for key in ("name", "description"):
        if key in changes:
            setattr(grid, key, changes[key])
    if "business_lines" in changes:
        grid.business_lines = sorted(set(changes["business_lines"]))
    grid.version += 1
    grid.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    grid.save()
    record(
        grid=grid, action=HistoryAction.GEOMETRY_CHANGED if geom_changed else HistoryAction.UPDATED, actor=actor,
        before=before, geom_before=geom_before, geom_changed=geom_changed, reason=reason,
    )
    if geom_changed:
        replace_points_later(geom_before, grid.geom)
    return grid


@transaction.atomic
def grid_retire(*, actor: Any, grid: Grid, expected_version: int | None, reason: str = "") -> Grid:
    """Retire a grid without active children; its open assignments end today."""
    check_scope(actor, grid.institution.path)
    grid = lock_grid(grid.pk)
    check_version(grid, expected_version)
    if grid.status != GridStatus.ACTIVE:
        raise ValidationFailed(_("网格已撤销"), code="grid_retired")
    if Grid.objects.filter(parent=grid, status=GridStatus.ACTIVE).exists():
        raise ValidationFailed(_("请先撤销或调整下级网格"), code="grid_has_children")
    before = snapshot(grid)
    GridAssignment.objects.filter(grid=grid, ends_on__isnull=True).update(ends_on=timezone.localdate())
    grid.status, grid.version = GridStatus.RETIRED, grid.version + 1
    grid.save(update_fields=["status", "version", "updated_at"])
    record(grid=grid, action=HistoryAction.RETIRED, actor=actor, before=before, reason=reason)
    replace_points_later(grid.geom)
    return grid


def _next_code(base: str, used: set[str]) -> str:
    n = 1
    while True:
        code = f"{base}-{n}"
        if code not in used and not Grid.objects.filter(code=code).exists():
            used.add(code)
            return code
        n += 1


@transaction.atomic
def grid_split(
    *, actor: Any, grid: Grid, expected_version: int | None, line: LineString, names: Sequence[str] = (), reason: str = ""
) -> list[Grid]:
    """Split a grid along a drawn line. The largest piece stays with the grid (its assignments and
    id); each other piece becomes a new sibling. Children follow the piece that holds them."""
    check_scope(actor, grid.institution.path)
    _lock_group(kind=grid.kind, parent_id=grid.parent_id, virtual_type=grid.virtual_type)
    grid = lock_grid(grid.pk)
    check_version(grid, expected_version)
    if grid.status != GridStatus.ACTIVE:
        raise ValidationFailed(_("已撤销的网格不能拆分"), code="grid_retired")
    try:
        pieces = geo.split_by_line(to_shapely(grid.geom), to_shapely(line))
        for piece in pieces:
            geo.validate_grid_geometry(piece, min_area_m2=min_area_m2())
    except geo.GeometryError as exc:
        raise geometry_error(exc) from None
    children = list(Grid.objects.filter(parent=grid, status=GridStatus.ACTIVE))
    home: dict[int, int] = {}
    for child in children:
        child_shape = to_shapely(child.geom)
        for index, piece in enumerate(pieces):
            try:
                geo.check_inside_parent(child_shape, piece, tolerance_m=1.0)
                home[child.pk] = index
                break
            except geo.GeometryError:
                continue
        else:
            raise ValidationFailed(
                _("拆分线穿过了下级网格「%(name)s」") % {"name": child.name}, code="split_crosses_children", details={"child_id": child.pk}
            )
    before, geom_before = snapshot(grid), grid.geom
    grid.geom, grid.area_m2, grid.version = to_geos(pieces[0]), geo.area_m2(pieces[0]), grid.version + 1
    if names:
        grid.name = names[0]
    grid.save()
    record(grid=grid, action=HistoryAction.SPLIT, actor=actor, before=before, geom_before=geom_before, geom_changed=True, reason=reason)
    result, used = [grid], set()
    for index, piece in enumerate(pieces[1:], start=1):
        new = Grid.objects.create(
            kind=grid.kind, level=grid.level, virtual_type=grid.virtual_type, parent=grid.parent,
            code=_next_code(before["code"], used), name=names[index] if index < len(names) else f"{before['name']}（{index + 1}）",
            business_lines=grid.business_lines, institution=grid.institution, geom=to_geos(piece), area_m2=geo.area_m2(piece),
            description=grid.description, created_by=grid.updated_by, updated_by=grid.updated_by,
        )
        record(grid=new, action=HistoryAction.SPLIT, actor=actor, geom_changed=True, reason=reason, data={"split_from": grid.pk})
        result.append(new)
    for child in children:
        target = result[home[child.pk]]
        if child.parent_id != target.pk:
            child.parent = target
            child.save(update_fields=["parent", "updated_at"])
    replace_points_later(geom_before)
    return result


@transaction.atomic
def grid_merge(*, actor: Any, grids: Sequence[Grid], expected_versions: dict[int, int], reason: str = "", name: str = "") -> Grid:
    """Merge adjacent siblings into the first of them; the others retire and hand over children."""
    if len(grids) < 2:
        raise ValidationFailed(_("至少选择两个网格"), code="merge_too_few")
    first = grids[0]
    for g in grids:
        check_scope(actor, g.institution.path)
        if (g.kind, g.level, g.virtual_type, g.parent_id) != (first.kind, first.level, first.virtual_type, first.parent_id):
            raise ValidationFailed(_("只能合并同一上级下同类型、同层级的网格"), code="merge_not_siblings")
    _lock_group(kind=first.kind, parent_id=first.parent_id, virtual_type=first.virtual_type)
    locked = {g.pk: lock_grid(g.pk) for g in sorted(grids, key=lambda g: g.pk)}  # fixed lock order
    for pk, g in locked.items():
        check_version(g, expected_versions.get(pk))
        if g.status != GridStatus.ACTIVE:
            raise ValidationFailed(_("已撤销的网格不能合并"), code="grid_retired")
    keep = locked[first.pk]
    try:
        merged = geo.merge_polygons([to_shapely(locked[g.pk].geom) for g in grids])
        merged = geo.validate_grid_geometry(merged, min_area_m2=min_area_m2())
    except geo.GeometryError as exc:
        raise geometry_error(exc) from None
    before, geom_before = snapshot(keep), keep.geom
    keep.geom, keep.area_m2, keep.version = to_geos(merged), geo.area_m2(merged), keep.version + 1
    if name:
        keep.name = name
    keep.save()
    others = [locked[g.pk] for g in grids[1:]]
    record(
        grid=keep, action=HistoryAction.MERGED, actor=actor, before=before, geom_before=geom_before, geom_changed=True,
        reason=reason, data={"merged": [o.pk for o in others]},
    )
    for other in others:
        Grid.objects.filter(parent=other, status=GridStatus.ACTIVE).update(parent=keep)
        GridAssignment.objects.filter(grid=other, ends_on__isnull=True).update(ends_on=timezone.localdate())
        other_before = snapshot(other)
        other.status, other.version = GridStatus.RETIRED, other.version + 1
        other.save(update_fields=["status", "version", "updated_at"])
        record(grid=other, action=HistoryAction.MERGED, actor=actor, before=other_before, reason=reason, data={"merged_into": keep.pk})
    return keep


@transaction.atomic
def grids_import(
    *,
    actor: Any,
    features: Sequence[Any],
    institution: Institution,
    kind: str,
    parent: Grid | None = None,
    level: str = "",
    virtual_type: str = "",
    business_lines: Sequence[str] = (),
    reason: str = "",
) -> list[Grid]:
    """Create a grid per feature (`name`/`code` properties), all or nothing. Every feature is
    checked — geometry, inside the parent, overlap with existing siblings and with the other
    features of the file — and every problem is reported with its feature index."""
    check_scope(actor, institution.path)
    if parent is not None:
        check_scope(actor, parent.institution.path)
    _check_structure(kind=kind, level=level, virtual_type=virtual_type, parent=parent)
    _lock_group(kind=kind, parent_id=parent.pk if parent else None, virtual_type=virtual_type)
    problems: list[dict[str, Any]] = []
    accepted: list[tuple[int, str, str, Any]] = []
    codes_seen: set[str] = set()
    for feature in features:
        props = feature.properties or {}
        name = str(props.get("name") or props.get("NAME") or props.get("名称") or "").strip()
        code = str(props.get("code") or props.get("CODE") or props.get("编码") or "").strip()
        if not name or not code:
            problems.append({"feature": feature.index, "code": "feature_name_code_required", "message": _("要素缺少名称或编码")})
            continue
        if code in codes_seen or Grid.objects.filter(code=code).exists():
            problems.append({"feature": feature.index, "code": "grid_code_taken", "message": _("网格编码「%(code)s」重复") % {"code": code}})
            continue
        codes_seen.add(code)
        if feature.geometry is None:
            problems.append({"feature": feature.index, "code": "geometry_empty", "message": _("要素没有几何图形")})
            continue
        try:
            shape = check_geometry_rules(shape=feature.geometry, kind=kind, virtual_type=virtual_type, parent=parent)
        except ValidationFailed as exc:
            problems.append({"feature": feature.index, "code": exc.code, "message": str(exc.message), **(exc.details or {})})
            continue
        accepted.append((feature.index, code, name, shape))
    must_not_overlap = kind == GridKind.PHYSICAL or virtual_type in TERRITORIAL_VIRTUAL_TYPES
    if must_not_overlap:
        for i, (index, _code, fname, shape) in enumerate(accepted):
            overlaps = geo.find_overlaps(shape, [(o[0], o[2], o[3]) for o in accepted[i + 1:]])
            for overlap in overlaps:
                problems.append({
                    "feature": index, "code": "geometry_overlaps_sibling",
                    "message": _("与文件中第 %(other)s 个要素重叠 %(area).1f 平方米") % {"other": overlap.sibling_id + 1, "area": overlap.area_m2},
                })
    if problems:
        raise ValidationFailed(
            _("导入文件有 %(n)s 处问题，未导入任何网格") % {"n": len(problems)}, code="import_invalid",
            details={"problems": sorted(problems, key=lambda p: p["feature"]), "features": len(features)},
        )
    created = []
    for index, code, name, shape in accepted:
        grid = Grid.objects.create(
            kind=kind, level=level, virtual_type=virtual_type, parent=parent, code=code, name=name,
            business_lines=sorted(set(business_lines)), institution=institution, geom=to_geos(shape), area_m2=geo.area_m2(shape),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        record(grid=grid, action=HistoryAction.IMPORTED, actor=actor, geom_changed=True, reason=reason, data={"feature": index})
        created.append(grid)
    if created and parent is not None:
        replace_points_later(parent.geom)
    return created
