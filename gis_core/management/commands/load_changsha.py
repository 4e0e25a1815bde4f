"""`python manage.py load_changsha [--data-dir PATH]`: load the Changsha base data (GC-5, GC-4).

Exists so that a fresh installation (and `make demo`) gets the real division tree, district outlines
and OSM POIs from the committed fixture in `data/changsha/` in a few seconds. Safe to run again.
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gis_core.errors import ApplicationError
from gis_core.services.places import changsha_load


class Command(BaseCommand):
    help = "加载长沙市行政区划与兴趣点基础数据（data/changsha，可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir", type=Path, default=Path(settings.BASE_DIR) / "data" / "changsha",
            help="fixture folder (default: data/changsha in the project)",
        )

    def handle(self, *args, data_dir: Path, **options):
        try:
            counts = changsha_load(data_dir=data_dir)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for key, value in counts.items():
            self.stdout.write(f"{key}: {value}")
        self.stdout.write(self.style.SUCCESS("长沙基础数据已加载"))
