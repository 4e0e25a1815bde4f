"""`python manage.py geocode_eval [--file CSV] [--failures N] [--min-throughput N]` (GC-2).

Exists so that anyone can check the offline geocoder against the labelled Changsha set
(`data/geocoding/eval_changsha.csv`, made by `scripts/make_geocoding_eval.py`) on the loaded data:
accuracy per level, over-precise answers, and throughput on one core (cold, warm, batch).
"""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gis_core.geocoding.evaluation import DEFAULT_EVAL_FILE, format_report, run_evaluation


class Command(BaseCommand):
    help = "用标注地址集评估离线地理编码的准确率与吞吐量"

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT_EVAL_FILE, help="evaluation CSV")
        parser.add_argument("--failures", type=int, default=0, help="print this many wrong answers")
        parser.add_argument("--min-throughput", type=float, default=0.0,
                            help="fail when the cold single-address throughput is below this (addresses/s)")

    def handle(self, *args, file: Path, failures: int, min_throughput: float, **options):
        if not file.is_file():
            raise CommandError(f"evaluation file not found: {file}")
        report = run_evaluation(path=file)
        for line in format_report(report, show_failures=failures):
            self.stdout.write(line)
        cold = report.throughput["cold"][0]
        if min_throughput and cold < min_throughput:
            raise CommandError(f"throughput {cold:,.0f}/s is below {min_throughput:,.0f}/s")
