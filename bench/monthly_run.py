"""Benchmark: a monthly stage-1 run for a 60,000-patient PCN: plan, re-plan, letters, confirm.

The synthetic practice (bench/engine_synth.py) has ~1M events; patients recalled in November
have no invitation yet this year, so the November cohort is ~1,500-2,000 invitations. Then the
2nd-letter list, which now looks at every non-responder of the year, whatever their month.

Prints one JSON document; nothing is asserted. `before` holds the same steps measured on the
engine before the one-rule rewrite (commit 9a77492, same machine, same script, file
bench/baseline/monthly_run_before.json, made with --write-baseline on that commit), and
`ratio_vs_before` compares plan+letters+confirm.

    python bench/monthly_run.py [--patients N] [--events N] [--db URL]
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
from recall.services.letters import render_batch_letters
from recall.store.db import Database

BASELINE = Path(__file__).resolve().parent / "baseline" / "monthly_run_before.json"


def _timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=60_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--write-baseline", action="store_true", help="save this run as `before`")
    args = ap.parse_args()
    send = dt.date(2026, 11, 20)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        counts, build_s = _timed(build, db, args.patients, args.events)
        plan, plan_s = _timed(plan_batch, db, 1, "2026-11", send, operator="bench", today=TODAY)
        again, replan_s = _timed(plan_batch, db, 1, "2026-11", send, operator="bench", today=TODAY)
        letters, letters_s = _timed(
            render_batch_letters, db, plan.batch.id, Path(tmp) / "letters", send, pdf=False
        )
        result, confirm_s = _timed(
            confirm_batch, db, plan.batch.id, send, operator="bench", today=TODAY
        )
        stage2, stage2_s = _timed(
            plan_batch, db, 2, "2026-11", TODAY, operator="bench", today=TODAY
        )
        doc: dict[str, object] = {
            "benchmark": "monthly_run",
            "backend": db.backend,
            **counts,
            "build_s": round(build_s, 2),
            "stage1_invitations": len(plan.invitations),
            "stage1_excluded": len(plan.excluded),
            "same_batch_on_replan": again.batch.id == plan.batch.id,
            "plan_s": round(plan_s, 3),
            "replan_s": round(replan_s, 3),
            "letters_s": round(letters_s, 3),
            "letters": letters.counts.get("letters", 0),
            "confirm_s": round(confirm_s, 3),
            "plan_letters_confirm_s": round(plan_s + letters_s + confirm_s, 3),
            "codes_recorded": len(result.codes),
            "stage2_invitations": len(stage2.invitations),
            "stage2_plan_s": round(stage2_s, 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        db.dispose()
    if args.write_baseline:
        BASELINE.parent.mkdir(exist_ok=True)
        BASELINE.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    elif BASELINE.exists():
        before = json.loads(BASELINE.read_text(encoding="utf-8"))
        doc["before"] = before
        if before.get("plan_letters_confirm_s"):
            doc["ratio_vs_before"] = round(
                float(doc["plan_letters_confirm_s"]) / float(before["plan_letters_confirm_s"]),
                2,  # type: ignore[arg-type]
            )
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
