"""Benchmark: the PCA report for 60,000 patients / 1,000,000 events.

Baseline, in the same run and on the same database: a single SQL scan of the event table
(every row fetched through the same SQLAlchemy stack). Target: report <= 1 s and <= 5x the
scan. Prints one JSON document; nothing is asserted.

    /work/venv/bin/python bench/pca_report.py [--patients N] [--events N] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_synth import TODAY, build

from recall.services.pca_report import pca_report
from recall.store.db import Database
from recall.store.models import event_t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=60_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        t0 = time.perf_counter()
        counts = build(db, args.patients, args.events)
        build_s = time.perf_counter() - t0

        scans, reports = [], []
        report = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with db.read() as s:
                rows = s.execute(select(event_t.c.patient_id, event_t.c.date, event_t.c.code)).all()
            scans.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            report = pca_report(db, TODAY)
            reports.append(time.perf_counter() - t0)
        assert report is not None
        scan_s, report_s = statistics.median(scans), statistics.median(reports)
        register = sum(c.register for c in report.conditions.values())
        counted = sum(sum(c.counts.values()) for c in report.conditions.values())
        doc = {
            "benchmark": "pca_report",
            "backend": db.backend,
            **counts,
            "scanned_rows": len(rows),
            "build_s": round(build_s, 2),
            "baseline_scan_s": round(scan_s, 3),
            "pca_report_s": round(report_s, 3),
            "pca_report_first_s": round(reports[0], 3),
            "baseline_scan_min_s": round(min(scans), 3),
            "pca_report_min_s": round(min(reports), 3),
            "ratio_min_to_min": round(min(reports) / min(scans), 2),
            "repeats": args.repeat,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "note": "medians of the repeats; the machine's load average is shown because "
            "other work on it inflates both timings alike",
            "ratio_to_scan": round(report_s / scan_s, 2),
            "target": {"seconds": 1.0, "ratio": 5.0},
            "meets_target": report_s <= 1.0 and report_s / scan_s <= 5.0,
            "register_patient_conditions": register,
            "each_counted_once": register == counted,
            "status_totals": {
                k: sum(c.counts[k] for c in report.conditions.values())
                for k in next(iter(report.conditions.values())).counts
            },
            "need_second_by_year_end": report.need_second_by_year_end,
        }
        db.dispose()
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
