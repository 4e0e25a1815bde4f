"""Offline geocoding benchmark (GC-2): accuracy per level on the labelled Changsha set, and throughput.

    DJANGO_SETTINGS_MODULE=config.settings.local .venv/bin/python bench/bench_geocoding.py [--failures N]

Runs against the local database with the Changsha fixture loaded (`manage.py load_changsha`) and
`data/geocoding/eval_changsha.csv` (`scripts/make_geocoding_eval.py`). The process is pinned to one
CPU. Prints accuracy per expected level (right code at that level and a level at least as fine),
over-precise answers, and addresses/s cold (first pass after building the gazetteer), warm and in a
10,000-address batch; exits 1 when the cold single-address throughput is below 2,000/s.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

MIN_THROUGHPUT = 2000.0


def main() -> int:
    parser = argparse.ArgumentParser(description="offline geocoding accuracy and throughput")
    parser.add_argument("--failures", type=int, default=10, help="print this many wrong answers")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    import django

    django.setup()
    import logging

    logging.getLogger("gis_core.geocoding").setLevel(logging.WARNING)
    from gis_core.geocoding.evaluation import format_report, run_evaluation
    from gis_core.models import AdminDivision, Poi

    if not AdminDivision.objects.filter(level="community").exists() or not Poi.objects.exists():
        print("no Changsha data in this database: run `manage.py load_changsha` first", file=sys.stderr)
        return 2
    report = run_evaluation()
    print("offline geocoding — data/geocoding/eval_changsha.csv")
    for line in format_report(report, show_failures=args.failures):
        print(line)
    cold = report.throughput["cold"][0]
    if cold < MIN_THROUGHPUT:
        print(f"FAIL: {cold:,.0f} addresses/s is below {MIN_THROUGHPUT:,.0f}/s", file=sys.stderr)
        return 1
    print(f"OK: ≥ {MIN_THROUGHPUT:,.0f} addresses/s on one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
