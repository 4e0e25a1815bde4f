"""Scoring the geocoder against the labelled evaluation set (GC-2), for `manage.py geocode_eval` and
`bench/bench_geocoding.py`.

Why this module exists
----------------------
Accuracy and speed are promises (≥ 2,000 addresses/s on one core, accuracy printed per level), so they
are measured the same way everywhere. An answer is **correct** when its level is at least as fine as
the expected level and every expected code (district, street, community; the POI for estate
addresses) matches; an expected ``none`` is correct only when nothing is returned. An answer finer
than expected is also counted as **over-precise** — on these addresses that means invented precision.
Throughput is addresses per second of CPU time of this single-threaded process (what one core
does, unaffected by other processes on a shared machine; wall-clock rates are printed next to it),
on the single-address path (normalise + match + result), cold (first pass right
after the gazetteer was built) and warm (repeated passes), and on the batch path ``geocode_many``
(10,000 distinct addresses: the set ten times with different door numbers).
"""
from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from gis_core.geocoding.base import LEVEL_RANK, GeocodeResult

__all__ = ["DEFAULT_EVAL_FILE", "EvalReport", "evaluate", "format_report", "load_eval_rows", "run_evaluation"]

DEFAULT_EVAL_FILE = Path(settings.BASE_DIR) / "data" / "geocoding" / "eval_changsha.csv"
REPORT_LEVELS = ("poi", "community", "street", "district", "city", "none")


def load_eval_rows(path: Path | str = DEFAULT_EVAL_FILE) -> list[dict[str, str]]:
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def is_correct(row: dict[str, str], result: GeocodeResult) -> bool:
    expected = row["expected_level"]
    if expected == "none":
        return result.level == "none"
    if LEVEL_RANK.get(result.level, 0) < LEVEL_RANK[expected]:
        return False
    for level in ("district", "street", "community"):
        if row.get(level) and result.codes.get(level) != row[level]:
            return False
    if expected == "poi" and result.matched_poi != row.get("poi_name"):
        return False
    return True


@dataclass
class EvalReport:
    total: int = 0
    correct: int = 0
    by_level: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    matched_levels: Counter = field(default_factory=Counter)
    failures: list[tuple[dict[str, str], GeocodeResult]] = field(default_factory=list)
    throughput: dict[str, tuple[float, float]] = field(default_factory=dict)
    gazetteer_seconds: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def over_precise(self) -> int:
        return sum(v[2] for v in self.by_level.values())


def evaluate(rows: Sequence[dict[str, str]], results: Sequence[GeocodeResult]) -> EvalReport:
    """Accuracy per expected level: [rows, correct, over-precise]."""
    report = EvalReport()
    for row, result in zip(rows, results, strict=True):
        expected = row["expected_level"]
        counts = report.by_level[expected]
        counts[0] += 1
        report.total += 1
        report.matched_levels[result.level] += 1
        if is_correct(row, result):
            counts[1] += 1
            report.correct += 1
        else:
            report.failures.append((row, result))
        if expected != "poi" and LEVEL_RANK.get(result.level, 0) > LEVEL_RANK[expected]:
            counts[2] += 1
    return report


def _rate(function: Callable[[], Any], count: int) -> tuple[float, float]:
    """(addresses per CPU second of this process, addresses per wall-clock second)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    function()
    cpu = max(time.process_time() - started_cpu, 1e-9)
    return count / cpu, count / (time.perf_counter() - started)


def run_evaluation(*, path: Path | str = DEFAULT_EVAL_FILE, warm_passes: int = 5) -> EvalReport:
    """Build the gazetteer afresh, geocode the set (cold, warm, batch) with the offline geocoder."""
    from gis_core.geocoding.chain import GeocoderChain
    from gis_core.geocoding.gazetteer import build_gazetteer
    from gis_core.geocoding.offline import OfflineGeocoder

    rows = load_eval_rows(path)
    addresses = [row["address"] for row in rows]
    started = time.perf_counter()
    gazetteer = build_gazetteer(version="evaluation")
    gazetteer_seconds = time.perf_counter() - started
    geocoder = OfflineGeocoder(gazetteer)

    results: list[GeocodeResult] = []
    cold = _rate(lambda: results.extend(geocoder.geocode(a) for a in addresses), len(addresses))
    warm = _rate(lambda: [geocoder.geocode(a) for _ in range(warm_passes) for a in addresses],
                 len(addresses) * warm_passes)
    chain = GeocoderChain([geocoder])
    # a customer list: the set ten times over with different door numbers (all distinct addresses)
    batch_addresses = [f"{address} {n + 1}号" for n in range(10) for address in addresses]
    batch = _rate(lambda: chain.geocode_many(batch_addresses), len(batch_addresses))

    report = evaluate(rows, results)
    report.gazetteer_seconds = gazetteer_seconds
    report.throughput = {"cold": cold, "warm": warm, "batch": batch}
    return report


def format_report(report: EvalReport, *, show_failures: int = 0) -> list[str]:
    lines = [f"gazetteer built in {report.gazetteer_seconds:.2f} s"]
    lines.append(f"{'expected level':<15}{'rows':>6}{'correct':>9}{'accuracy':>10}{'over-precise':>14}")
    for level in REPORT_LEVELS:
        total, correct, over = report.by_level.get(level, [0, 0, 0])
        if total:
            lines.append(f"{level:<15}{total:>6}{correct:>9}{correct / total:>10.1%}{over:>14}")
    lines.append(
        f"{'overall':<15}{report.total:>6}{report.correct:>9}{report.accuracy:>10.1%}"
        f"{report.over_precise:>14}"
    )
    lines.append("matched levels: " + ", ".join(f"{k} {v}" for k, v in sorted(report.matched_levels.items())))
    for name, (cpu_rate, wall_rate) in report.throughput.items():
        lines.append(f"throughput {name:<5} {cpu_rate:>10,.0f} addresses/s per CPU second"
                     f"  ({wall_rate:,.0f}/s wall clock)")
    for row, result in report.failures[:show_failures]:
        expected = row.get("community") or row.get("street") or row.get("district")
        got = result.codes.get("community") or result.codes.get("street") or result.codes.get("district")
        lines.append(
            f"  MISS #{row['id']} {row['address']!r} expected {row['expected_level']} {expected}"
            f" {row.get('poi_name', '')} -> {result.level} {got} {result.matched_poi or ''} {result.detail}"
        )
    return lines
