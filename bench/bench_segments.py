"""Benchmarks of segments (issue 4, CR-4): the live count of a realistic segment over 1,000,000
customers (target ≤ 1 s) and the materialisation of a ~300k-member segment, first from nothing and
then incrementally after 1 % of the customers changed (target ≤ 10 s each). Anchor: Mautic rebuilds
a 260k segment in about 40 minutes (#8113), whatever changed.

    .venv/bin/python bench/bench_segments.py [--customers 1000000] [--keep]

Works in its own scratch database (created from DATABASE_URL's server, migrated, dropped at the end
unless --keep), like bench/bench_grids.py whose helpers it reuses: a Changsha-sized lattice of grids
(city → 4 districts → streets → communities), 24 institutions, customers with attributes, tags and
products inserted with INSERT … SELECT generate_series, placed into grids by grids.membership. Every
step prints its figures; a summary table closes the run and the exit status is non-zero when a
target fails.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.bench_grids import (  # noqa: E402 - the sibling benchmark's scratch-database helpers
    HEIGHT,
    WIDTH,
    X0,
    Y0,
    generate_grids,
    lattice_side,
    other_columns,
    run_in_scratch_database,
    sql,
    step,
    vacuum,
)

TARGETS = {"count_s": 1.0, "refresh_s": 10.0}
TAGS = [("vip", 0.05), ("young", 0.15), ("farmer", 0.20), ("merchant", 0.10), ("salary", 0.25), ("pension", 0.12),
        ("online", 0.30), ("loan_intent", 0.04), ("new", 0.08), ("dormant", 0.10)]
PRODUCTS = [("DEP1Y", "deposit", 0.35), ("DEP3Y", "deposit", 0.20), ("LOAN-F", "loan", 0.10), ("WEALTH", "wealth", 0.08),
            ("CARD", "card", 0.45), ("INS", "insurance", 0.05)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=2_500, help="leaf (community) grids")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each count")
    parser.add_argument("--database", default="gm_bench_segments", help="scratch database (created and dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--seed", type=float, default=0.37)
    return parser.parse_args()


# --------------------------------------------------------------------------------------------
# 1. data
# --------------------------------------------------------------------------------------------

def generate_organisation() -> dict:
    """Head office → 4 branches → 5 sub-branches each; a leader at the head office and a branch
    manager at the first branch (the two scopes the counts run under)."""
    from gis_core.choices import InstitutionKind, RoleCode
    from gis_core.models import Role, User
    from gis_core.services.organisation import institution_create

    head = institution_create(actor=None, code="BENCH-HO", name="基准总行", kind=InstitutionKind.HEAD_OFFICE)
    branches, subs = [], []
    for b in range(4):
        branch = institution_create(actor=None, code=f"BENCH-B{b}", name=f"基准支行{b}", kind=InstitutionKind.BRANCH, parent=head)
        branches.append(branch)
        for s in range(5):
            subs.append(institution_create(actor=None, code=f"BENCH-B{b}-{s}", name=f"基准分理处{b}-{s}",
                                           kind=InstitutionKind.SUB_BRANCH, parent=branch))

    def user(username: str, institution, role: str) -> User:
        person = User.objects.create(username=username, institution=institution, is_active=True, must_change_password=False)
        person.roles.add(Role.objects.get(code=role))
        return person

    return {
        "head": head, "branches": branches, "subs": subs,
        "leader": user("bench_leader", head, RoleCode.LEADER),
        "branch_manager": user("bench_bm", branches[0], RoleCode.BRANCH_MANAGER),
        "analyst": user("bench_analyst", head, RoleCode.ANALYST),
    }


def generate_customers(*, institution_ids: list[int], count: int, seed: float) -> int:
    """Customers spread over the city box, each with a random institution (the sub-branches and
    branches), kind, status, gender, birth date and creation date."""
    from crm.models import Customer

    given = {"kind", "status", "gender", "birth_date", "name", "location", "institution_id", "geocode_status", "created_at", "updated_at"}
    extra_columns, extra_values, extra = other_columns(Customer, given)
    ids = "ARRAY[" + ",".join(str(i) for i in institution_ids) + "]"
    sql("SELECT setseed(%s)", [seed])
    return sql(
        f"""INSERT INTO crm_customer (kind, status, gender, birth_date, name, location, institution_id, geocode_status,
                                      created_at, updated_at{extra_columns})
        SELECT CASE WHEN random() < 0.9 THEN 'individual' ELSE 'corporate' END,
               CASE WHEN random() < 0.6 THEN 'formal' ELSE 'potential' END,
               CASE WHEN random() < 0.5 THEN 'M' ELSE 'F' END,
               date '1945-01-01' + (random() * 22000)::int,
               '客户' || n,
               ST_SetSRID(ST_MakePoint({X0} + random() * {WIDTH}, {Y0} + random() * {HEIGHT}), 4326),
               ({ids})[1 + floor(random() * {len(institution_ids)})::int],
               'matched', now() - (random() * 1000 || ' days')::interval, now(){extra_values}
        FROM generate_series(1, {count}) n""",
        extra,
    )


def generate_tags_and_products(seed: float) -> tuple[int, int]:
    """The tag catalogue and ~1.4 tags per customer; the product catalogue and ~1.2 holdings each."""
    from crm.models import Product, Tag

    for code, _share in TAGS:
        Tag.objects.create(code=code, name=code)
    for code, category, _share in PRODUCTS:
        Product.objects.create(code=code, name=code, category=category)
    sql("SELECT setseed(%s)", [seed])
    shares = "(VALUES " + ",".join(f"('{code}', {share})" for code, share in TAGS) + ") AS s(code, share)"
    tags = sql(
        f"""INSERT INTO crm_customertag (customer_id, tag_id, created_at)
            SELECT c.id, t.id, now() FROM crm_customer c CROSS JOIN {shares} JOIN crm_tag t ON t.code = s.code
            WHERE random() < s.share + 0 * c.id"""  # naming c keeps the planner from drawing one number per tag
    )
    shares = "(VALUES " + ",".join(f"('{code}', {share})" for code, _c, share in PRODUCTS) + ") AS s(code, share)"
    holdings = sql(
        f"""INSERT INTO crm_customerproduct (customer_id, product_id, balance, is_overdue)
            SELECT c.id, p.id, round((random() * random() * 500000)::numeric, 2), false
            FROM crm_customer c CROSS JOIN {shares} JOIN crm_product p ON p.code = s.code
            WHERE random() < s.share + 0 * c.id"""
    )
    return tags, holdings


# --------------------------------------------------------------------------------------------
# 2. counts
# --------------------------------------------------------------------------------------------

def realistic_definition() -> dict:
    """Tags + status + grid subtree + a drawn polygon (the issue's "realistic segment")."""
    from grids.models import Grid

    district = Grid.objects.get(code="D00")  # the south-west quarter of the city
    xmin, ymin, xmax, ymax = district.geom.extent
    # a polygon over the district's centre and beyond it (drawn by hand: a pentagon)
    cx, cy, rx, ry = (xmin + xmax) / 2, (ymin + ymax) / 2, (xmax - xmin) * 0.45, (ymax - ymin) * 0.45
    ring = [[cx - rx, cy - ry], [cx + rx * 1.3, cy - ry], [cx + rx * 1.4, cy + ry * 0.3], [cx, cy + ry * 1.2], [cx - rx, cy + ry * 0.4]]
    ring.append(ring[0])
    return {
        "v": 1,
        "all": [
            {"tags_any": ["vip", "salary"]},
            {"field": "status", "op": "eq", "value": "formal"},
            {"grid_subtree": district.pk},
            {"within_polygon": {"type": "Polygon", "coordinates": [ring]}, "crs": "wgs84"},
            {"not": {"tag": "dormant"}},
        ],
    }


def time_count(*, label: str, actor, definition: dict, repeat: int) -> dict:
    from crm.segments import segment_count

    timings, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = segment_count(actor=actor, definition=definition)
        timings.append(time.perf_counter() - start)
    out = {"count": result, "first": timings[0], "median": statistics.median(timings), "max": max(timings)}
    print(f"   {label}: {result} customers; first {out['first'] * 1000:.0f} ms, median {out['median'] * 1000:.0f} ms, "
          f"max {out['max'] * 1000:.0f} ms over {repeat} runs")
    return out


def explain(actor, definition: dict) -> None:
    from crm.segment_selectors import customers_for_definition

    qs = customers_for_definition(actor=actor, definition=definition)
    inner, params = qs.order_by().values("pk").query.sql_with_params()
    plan = sql(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY ON) SELECT count(*) FROM ({inner}) s", params)
    for (line,) in plan:
        if "Execution Time" in line or "Scan" in line or "Join" in line:
            print(f"     {line.strip()}")


# --------------------------------------------------------------------------------------------
# 3. materialisation
# --------------------------------------------------------------------------------------------

MATERIALISED = {"v": 1, "all": [{"field": "status", "op": "eq", "value": "formal"}, {"product_category": ["deposit", "wealth"]}]}


def change_one_percent(segment_id: int, customers: int) -> int:
    """1 % of the customers change: half of them leave the segment (formal → potential), half join
    (potential deposit holders → formal)."""
    half = customers // 200
    left = sql(
        """UPDATE crm_customer SET status = 'potential', updated_at = now() WHERE id IN (
               SELECT customer_id FROM crm_segmentmember WHERE segment_id = %s ORDER BY md5(customer_id::text) LIMIT %s)""",
        [segment_id, half],
    )
    joined = sql(
        """UPDATE crm_customer SET status = 'formal', updated_at = now() WHERE id IN (
               SELECT c.id FROM crm_customer c WHERE c.status = 'potential'
               AND EXISTS (SELECT 1 FROM crm_customerproduct h JOIN crm_product p ON p.id = h.product_id
                           WHERE h.customer_id = c.id AND p.category IN ('deposit', 'wealth'))
               AND NOT EXISTS (SELECT 1 FROM crm_segmentmember m WHERE m.segment_id = %s AND m.customer_id = c.id)
               ORDER BY md5(c.id::text) LIMIT %s)""",
        [segment_id, half],
    )
    return left + joined


def naive_rebuild(segment_id: int, actor) -> float:
    """What a rebuild does (Mautic's way, in one transaction): delete every member, insert all again."""
    from django.db import transaction

    from crm.segment_selectors import customers_for_definition

    inner, params = customers_for_definition(actor=actor, definition=MATERIALISED).order_by().values("pk").query.sql_with_params()
    start = time.perf_counter()
    with transaction.atomic():
        sql("DELETE FROM crm_segmentmember WHERE segment_id = %s", [segment_id])
        sql(f"INSERT INTO crm_segmentmember (segment_id, customer_id, added_at) SELECT %s, s.id, now() FROM ({inner}) s(id)",
            [segment_id, *params])
    return time.perf_counter() - start


def bench_materialisation(org: dict, customers: int) -> dict:
    from crm.models import Segment, SegmentMember
    from crm.segments import segment_create, segment_refresh

    segment = segment_create(actor=org["analyst"], name="基准客群", definition=MATERIALISED)
    result: dict = {}
    with step("first refresh (empty → members)") as t:
        delta = segment_refresh(segment=segment)
    result["first_s"], result["members"] = t.seconds, delta.members
    print(f"   members {delta.members}, added {delta.added}, removed {delta.removed}")
    vacuum("crm_segmentmember")
    sample = dict(SegmentMember.objects.filter(segment=segment).order_by("customer_id").values_list("customer_id", "pk")[:: 997])

    with step("unchanged refresh (nothing changed)") as t:
        delta = segment_refresh(segment=segment)
    result["noop_s"] = t.seconds
    print(f"   added {delta.added}, removed {delta.removed}")

    changed = change_one_percent(segment.pk, customers)
    vacuum("crm_customer")
    print(f"   changed the status of {changed} customers (1 %)")
    with step("incremental refresh after 1 % changed") as t:
        delta = segment_refresh(segment=segment)
    result["incremental_s"], result["added"], result["removed"] = t.seconds, delta.added, delta.removed
    print(f"   members {delta.members}, added {delta.added}, removed {delta.removed}")
    kept = dict(SegmentMember.objects.filter(segment=segment, customer_id__in=list(sample)).values_list("customer_id", "pk"))
    result["rows_kept"] = all(kept[c] == pk for c, pk in sample.items() if c in kept)
    print(f"   membership rows of unchanged members kept: {'yes' if result['rows_kept'] else 'NO'} ({len(kept)} sampled)")
    segment.refresh_from_db()
    result["member_count_ok"] = segment.member_count == delta.members == Segment.objects.get(pk=segment.pk).members.count()

    with step("baseline: naive rebuild (delete all + insert all)") as t:
        result["naive_s"] = naive_rebuild(segment.pk, org["analyst"])
    return result


# --------------------------------------------------------------------------------------------

def main() -> int:
    args = parse_args()
    return run_in_scratch_database(
        title=f"segments benchmark: {args.customers} customers", database=args.database,
        keep=args.keep, cache_prefix="bench_segments", run=lambda: run(args),
    )


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from grids.membership import points_place

    total = time.perf_counter()
    with step("migrate"):
        call_command("migrate", verbosity=0)
    with step("1. institutions, users and grids"):
        org = generate_organisation()
        counts = generate_grids(institution_id=org["head"].pk, side=lattice_side(args.grids))
    print(f"   grids per level: {counts}")
    institution_ids = [i.pk for i in org["subs"]] + [b.pk for b in org["branches"]]
    with step(f"1. {args.customers} customers (INSERT … SELECT generate_series)") as t_customers:
        generate_customers(institution_ids=institution_ids, count=args.customers, seed=args.seed)
    with step("1. tags and products") as t_tags:
        tags, holdings = generate_tags_and_products(args.seed)
    print(f"   {tags} customer tags, {holdings} holdings")
    with step("1. placement into grids (grids.membership)") as t_place:
        points_place("crm.customer")
    with step("1. VACUUM ANALYZE"):
        vacuum("crm_customer", "crm_customertag", "crm_customerproduct", "grids_grid", "gis_core_institution")

    print("== 2. live count")
    definition = realistic_definition()
    realistic_bm = time_count(label="realistic segment, branch manager (one branch of four)", actor=org["branch_manager"],
                              definition=definition, repeat=args.repeat)
    explain(org["branch_manager"], definition)
    realistic_all = time_count(label="realistic segment, head office (whole bank)", actor=org["leader"], definition=definition,
                               repeat=args.repeat)
    everyone = time_count(label="empty definition, head office (every customer)", actor=org["leader"], definition={"v": 1},
                          repeat=args.repeat)
    materialised = time_count(label="the ~30 % segment materialised below, head office", actor=org["leader"],
                              definition=MATERIALISED, repeat=args.repeat)

    print("== 3. materialisation")
    refresh = bench_materialisation(org, args.customers)

    count_max = max(realistic_bm["median"], realistic_all["median"])
    rows = [
        ("data: customers inserted (s)", f"{t_customers.seconds:.1f}", "-", None),
        ("data: tags + products inserted (s)", f"{t_tags.seconds:.1f}", "-", None),
        ("data: placed into grids (s)", f"{t_place.seconds:.1f}", "-", None),
        ("count realistic, branch (median s)", f"{realistic_bm['median']:.3f} ({realistic_bm['count']})", "≤ 1", realistic_bm["median"] <= TARGETS["count_s"]),
        ("count realistic, branch (first s)", f"{realistic_bm['first']:.3f}", "-", None),
        ("count realistic, bank (median s)", f"{realistic_all['median']:.3f} ({realistic_all['count']})", "≤ 1", realistic_all["median"] <= TARGETS["count_s"]),
        ("count everyone, bank (median s)", f"{everyone['median']:.3f} ({everyone['count']})", "-", None),
        ("count 30 % segment, bank (median s)", f"{materialised['median']:.3f} ({materialised['count']})", "≤ 1", materialised["median"] <= TARGETS["count_s"]),
        ("refresh: first, members (s)", f"{refresh['first_s']:.2f} ({refresh['members']})", "≤ 10", refresh["first_s"] <= TARGETS["refresh_s"]),
        ("refresh: nothing changed (s)", f"{refresh['noop_s']:.2f}", "≤ 10", refresh["noop_s"] <= TARGETS["refresh_s"]),
        ("refresh: after 1 % changed (s)", f"{refresh['incremental_s']:.2f} (+{refresh['added']} −{refresh['removed']})", "≤ 10",
         refresh["incremental_s"] <= TARGETS["refresh_s"]),
        ("refresh: unchanged rows kept", "yes" if refresh["rows_kept"] else "no", "yes", refresh["rows_kept"]),
        ("refresh: member_count right", "yes" if refresh["member_count_ok"] else "no", "yes", refresh["member_count_ok"]),
        ("baseline: naive delete + insert all (s)", f"{refresh['naive_s']:.2f}", "-", None),
    ]
    print(f"\n== summary ({time.perf_counter() - total:.0f} s in all; count target met by the slowest median {count_max:.3f} s)")
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'value':>26}  {'target':>6}  result")
    for metric, value, target, ok in rows:
        verdict = "" if ok is None else ("pass" if ok else "FAIL")
        print(f"{metric:<{width}}  {value:>26}  {target:>6}  {verdict}")
    return 1 if any(r[3] is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
