"""Benchmark of the customers import (issue 4, "Benchmarks"): a 100,000-row XLSX → previewed,
committed, geocoded and placed into grids in ≤ 120 s.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--keep]

Works in its own scratch database (created from DATABASE_URL's server, migrated, dropped at the end
unless --keep), loads the Changsha fixture and the demo organisation, turns the district, street and
community divisions into physical grids, and writes a realistic list: real district, street,
community and residential-estate names in several spellings (full, without province, short city,
community only, with house numbers), valid resident IDs, unique mobiles, managers by employee number
and about 1 % bad rows. Then it times, through the REST API as the page calls it:

    1. upload + preview   POST /api/crm/imports/ (content check, streaming parse, every cell validated,
                          duplicates, COPY into the staging table)
    2. commit             POST /api/crm/imports/<id>/commit/ mode valid_rows (one transaction)
    3. geocode + place    the Celery task's body (offline geocoder in chunks, one points_place call)

and prints each phase, the total and the target. The exit status is non-zero when a target fails.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from bench_grids import create_scratch, drop_scratch, server_url, with_database  # noqa: E402

TARGET_TOTAL_S = 120.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志海燕红梅春雪晓东丽金凤玉文湘君"
HEADER = ["姓名", "证件类型", "证件号码", "手机号", "地址", "客户经理工号", "备注"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="data rows in the generated XLSX")
    parser.add_argument("--bad", type=float, default=0.01, help="share of rows with an invalid cell")
    parser.add_argument("--database", default="gm_bench_import", help="scratch database (created and dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args()


@contextmanager
def step(label: str, results: dict, key: str | None = None):
    print(f"-- {label} ...", flush=True)
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    if key:
        results[key] = seconds
    print(f"   {label}: {seconds:.2f} s", flush=True)


def sql(statement: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        if cursor.description:
            return cursor.fetchall()
        return cursor.rowcount


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------

def grids_from_divisions(institution_id: int) -> dict[str, int]:
    """Physical grids of the levels district → street → community, one per division, with the
    divisions' own polygons (what a bank starts from), inserted in three statements."""
    from bench_grids import other_columns
    from grids.models import Grid

    columns = "kind, level, virtual_type, parent_id, code, name, business_lines, institution_id, division_id, geom, area_m2, " \
              "status, version, description, rating_grade, created_at, updated_at"
    extra_columns, extra_values, extra = other_columns(Grid, {c.strip() for c in columns.split(",")})
    for level, parent_level in (("district", None), ("street", "district"), ("community", "street")):
        parent_join = (
            f"JOIN grids_grid p ON p.division_id = d.parent_id AND p.level = '{parent_level}'" if parent_level else ""
        )
        parent_id = "p.id" if parent_level else "NULL"
        sql(
            f"""INSERT INTO grids_grid ({columns}{extra_columns})
            SELECT 'physical', '{level}', '', {parent_id}, 'BG' || d.code, d.name, '{{}}', %s, d.id, ST_Multi(d.geom),
                   ST_Area(d.geom::geography), 'active', 1, '', '', now(), now(){extra_values}
            FROM gis_core_admindivision d {parent_join}
            WHERE d.level = '{level}' AND d.geom IS NOT NULL""",
            [institution_id, *extra],
        )
    sql("VACUUM ANALYZE grids_grid")
    return dict(sql("SELECT level, count(*) FROM grids_grid GROUP BY level"))


def address_variants(rng: random.Random, district: str, street: str, community: str, estate: str) -> str:
    building, unit, room = rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 33) * 100 + rng.randint(1, 4)
    short_district = district.removesuffix("区").removesuffix("县")
    variants = [
        f"湖南省长沙市{district}{street}{estate}{building}栋{unit}单元{room}室",
        f"长沙市{district}{estate}{building}栋{room}",
        f"长沙{district}{street}{community}{building}号",
        f"{district}{community}{estate}{building}-{unit}-{room}",
        f"长沙市{short_district}区{estate}{building}栋",
        f"湖南长沙{district}{street}{community}",
        f"{estate}{building}栋{unit}单元",
    ]
    return rng.choices(variants, weights=[30, 20, 15, 10, 10, 10, 5])[0]


def generate_xlsx(*, rows: int, bad_share: float, seed: int, employee_nos: list[str]) -> tuple[bytes, int]:
    """The list as an XLSX (openpyxl streaming writer) and how many rows were made invalid."""
    import openpyxl

    from gis_core.choices import PoiCategory
    from gis_core.models import Poi
    from gis_core.validators import resident_id_check_char

    rng = random.Random(seed)
    places = []
    for poi in Poi.objects.filter(category=PoiCategory.RESIDENTIAL, division__isnull=False).select_related("division__parent__parent"):
        community = poi.division
        street = community.parent
        district = street.parent if street else None
        if street is not None and district is not None:
            places.append((district.name, street.name, community.name, poi.name, district.code[:6]))
    if not places:
        raise SystemExit("no residential POIs with divisions: is the Changsha fixture loaded?")
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("客户名单")
    sheet.append(HEADER)
    bad = 0
    for n in range(rows):
        district, street, community, estate, code = rng.choice(places)
        # unique by construction: each block of 1,000 rows has its own 101-day birth window, and the
        # sequence number is n's last three digits
        birth = dt.date(1955, 1, 1) + dt.timedelta(days=(n // 1000) * 101 + rng.randint(0, 100))
        first17 = f"{code}{birth:%Y%m%d}{n % 1000:03d}"
        id_number = first17 + resident_id_check_char(first17)
        phone = f"1{rng.choice('3578')}{n:09d}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
        address = address_variants(rng, district, street, community, estate)
        manager = rng.choice(employee_nos) if employee_nos and rng.random() < 0.6 else ""
        row = [name, "居民身份证", id_number, phone, address, manager, ""]
        if rng.random() < bad_share:
            bad += 1
            which = rng.randrange(3)
            if which == 0:
                row[2] = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")  # wrong check character
            elif which == 1:
                row[3] = phone[:7]  # short mobile
            else:
                row[0] = ""  # missing name
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), bad


# --------------------------------------------------------------------------------------------

def main() -> int:
    args = parse_args()
    base_url = server_url()
    print(f"import benchmark: {args.rows} rows, scratch database {args.database}")
    os.environ["DATABASE_URL"] = with_database(base_url, args.database)
    os.environ.setdefault("CACHE_KEY_PREFIX", "bench_import")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    create_scratch(base_url, args.database)
    try:
        import django

        django.setup()
        return run(args)
    finally:
        if args.keep:
            print(f"kept database {args.database}")
        else:
            drop_scratch(base_url, args.database)


def run(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from rest_framework.test import APIClient

    import crm.imports
    from crm.models import Customer
    from crm.tasks import import_batch_geocode_task
    from gis_core.choices import RoleCode
    from gis_core.geocoding import gazetteer_invalidate, get_gazetteer
    from gis_core.models import Institution, Role, User
    from gis_core.services.demo import demo_organisation_build

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    results: dict[str, float] = {}
    with step("migrate", results):
        call_command("migrate", verbosity=0)
    with step("load_changsha + demo organisation + grids from divisions", results):
        call_command("load_changsha", stdout=open(os.devnull, "w"))
        demo_organisation_build(seed=args.seed)
        head = Institution.objects.get(code="CSRCB")
        grid_counts = grids_from_divisions(head.pk)
        importer = User.objects.create(username="bench_importer", display_name="导入基准", institution=head, employee_no="BENCH1")
        importer.roles.set([Role.objects.get(code=RoleCode.BRANCH_MANAGER)])
        gazetteer_invalidate()
        get_gazetteer()  # built once per process, as in a warm worker
    print(f"   grids per level: {grid_counts}")
    employee_nos = list(
        User.objects.filter(roles__code=RoleCode.ACCOUNT_MANAGER).exclude(employee_no=None).values_list("employee_no", flat=True)
    )
    with step(f"generate a {args.rows}-row XLSX", results):
        content, bad = generate_xlsx(rows=args.rows, bad_share=args.bad, seed=args.seed, employee_nos=employee_nos)
    print(f"   {len(content) / 1e6:.1f} MB, {bad} rows made invalid, managers {employee_nos}")

    client = APIClient()
    client.force_authenticate(importer)
    template_id = client.get("/api/crm/list-templates/").json()["results"][0]["id"]
    enqueued: list[int] = []
    crm.imports._enqueue_geocoding = enqueued.append  # the bench runs the job itself, timed on its own

    with step("1. upload + preview (POST /api/crm/imports/)", results, "preview"):
        response = client.post(
            "/api/crm/imports/",
            {"template": template_id, "name": "十万行基准", "file": SimpleUploadedFile("名单.xlsx", content)},
            format="multipart",
        )
    body = response.json()
    assert response.status_code == 201, body
    print(f"   rows {body['total_rows']}, valid {body['valid_rows']}, invalid {body['invalid_rows']}")
    with step("2. commit valid_rows (POST …/commit/)", results, "commit"):
        response = client.post(f"/api/crm/imports/{body['id']}/commit/", {"mode": "valid_rows"}, format="json")
    assert response.status_code == 202, response.content
    print(f"   committed {response.json()['committed_rows']}")
    with step("3. geocode + place (Celery task body)", results, "geocode"):
        outcome = import_batch_geocode_task(body["id"])
    assert enqueued == [body["id"]]
    statuses = dict(sql("SELECT geocode_status, count(*) FROM crm_customer WHERE import_batch_id = %s GROUP BY 1", [body["id"]]))
    levels = dict(sql("SELECT geocode_level, count(*) FROM crm_customer WHERE import_batch_id = %s GROUP BY 1", [body["id"]]))
    placed = Customer.objects.filter(import_batch_id=body["id"], grid_community__isnull=False).count()
    print(f"   {outcome}; statuses {statuses}; levels {levels}; placed in a community grid {placed}")

    total = results["preview"] + results["commit"] + results["geocode"]
    rows = [
        ("1. upload + preview (s)", f"{results['preview']:.1f}"),
        ("2. commit (s)", f"{results['commit']:.1f}"),
        ("3. geocode + place (s)", f"{results['geocode']:.1f}"),
        ("   geocoding throughput (rows/s)", f"{statuses and sum(statuses.values()) / results['geocode']:.0f}"),
        ("total (s)", f"{total:.1f}"),
    ]
    print("\n== summary")
    for metric, value in rows:
        print(f"{metric:<36} {value:>10}")
    ok = total <= TARGET_TOTAL_S
    print(f"{'target total ≤ ' + str(int(TARGET_TOTAL_S)) + ' s':<36} {'pass' if ok else 'FAIL':>10}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
