"""Benchmark: a monthly stage-1 run for a 60,000-patient PCN: plan, re-plan, confirm.

The synthetic practice (bench/engine_synth.py) has ~1M events; patients recalled in November
have no invitation yet this year, so the November cohort is ~1,500-2,000 invitations.
Prints one JSON document with the time of each step; nothing is asserted.

    /work/venv/bin/python bench/monthly_run.py [--patients N] [--events N] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_synth import TODAY, build

from recall.services.batches import confirm_batch, plan_batch
from recall.store.db import Database


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=60_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    send = dt.date(2026, 11, 20)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        t0 = time.perf_counter()
        counts = build(db, args.patients, args.events)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        plan = plan_batch(db, 1, "2026-11", send, operator="bench", today=TODAY)
        plan_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = plan_batch(db, 1, "2026-11", send, operator="bench", today=TODAY)
        replan_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = confirm_batch(db, plan.batch.id, send, operator="bench", today=TODAY)
        confirm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        stage2 = plan_batch(db, 2, "2026-10", TODAY, operator="bench", today=TODAY)
        stage2_s = time.perf_counter() - t0
        doc = {
            "benchmark": "monthly_run",
            "backend": db.backend,
            **counts,
            "build_s": round(build_s, 2),
            "stage1_invitations": len(plan.invitations),
            "stage1_excluded": len(plan.excluded),
            "same_batch_on_replan": again.batch.id == plan.batch.id,
            "plan_s": round(plan_s, 3),
            "replan_s": round(replan_s, 3),
            "confirm_s": round(confirm_s, 3),
            "plan_plus_confirm_s": round(plan_s + confirm_s, 3),
            "codes_recorded": len(result.codes),
            "confirm_warnings": len(result.warnings),
            "stage2_october_invitations": len(stage2.invitations),
            "stage2_plan_s": round(stage2_s, 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        db.dispose()
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
