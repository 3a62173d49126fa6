"""Benchmark: a monthly stage-1 run for a 60,000-patient PCN: plan, re-plan, letters, confirm.

The synthetic practice (bench/engine_synth.py) has ~1M events; patients recalled in November
have no invitation yet this year, so the November cohort is ~1,500-2,000 invitations. Then the
2nd-letter list, which looks at every non-responder of the year, whatever their month.

`before` is the engine before the one-rule rewrite (git revision 9a77492 by default), measured
in this same run: its source is taken with `git archive` into a temporary folder and each
measurement runs in a child process with that source first on the path. Both sides work on
the same data (built once by the older code, then upgraded by today's migrations on a copy),
rounds alternate which side goes first, and the JSON gives the medians and
`ratio_vs_before` for plan+letters+confirm. Nothing is asserted.

    python bench/monthly_run.py [--patients N] [--events N] [--rounds 3] [--baseline-rev REV]
    python bench/monthly_run.py --no-baseline [--db URL]   # today's engine only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STEPS = (
    "plan_s",
    "replan_s",
    "letters_s",
    "confirm_s",
    "plan_letters_confirm_s",
    "plan_letters_confirm_cpu_s",
    "stage2_plan_s",
)


CPU: dict[str, float] = {}  # "last": CPU seconds of the last timed step in this process


def _timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kw)
    CPU["last"] = time.process_time() - c0
    return out, time.perf_counter() - t0


# -- child process: runs with one side's source first on sys.path ---------------------------
def _child_build(url: str, patients: int, events: int) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH))
    from engine_synth import build

    from recall.store.db import Database

    db = Database(url)
    counts, build_s = _timed(build, db, patients, events)
    db.dispose()
    return {**counts, "build_s": round(build_s, 2)}


def _child_measure(url: str, out: Path) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH))
    from engine_synth import TODAY

    import recall
    from recall.services.batches import confirm_batch, plan_batch
    from recall.services.letters import render_batch_letters
    from recall.store.db import Database

    send = dt.date(2026, 11, 20)
    db, open_s = _timed(Database, url)  # today's code upgrades an older database here
    plan, plan_s = _timed(plan_batch, db, 1, "2026-11", send, operator="bench", today=TODAY)
    cpu = CPU["last"]
    again, replan_s = _timed(plan_batch, db, 1, "2026-11", send, operator="bench", today=TODAY)
    letters, letters_s = _timed(render_batch_letters, db, plan.batch.id, out, send, pdf=False)
    cpu += CPU["last"]
    result, confirm_s = _timed(
        confirm_batch, db, plan.batch.id, send, operator="bench", today=TODAY
    )
    cpu += CPU["last"]
    stage2, stage2_s = _timed(plan_batch, db, 2, "2026-11", TODAY, operator="bench", today=TODAY)
    db.dispose()
    return {
        "source": str(Path(recall.__file__).resolve().parent.parent),
        "open_s": round(open_s, 3),
        "stage1_invitations": len(plan.invitations),
        "stage1_excluded": len(plan.excluded),
        "same_batch_on_replan": again.batch.id == plan.batch.id,
        "plan_s": round(plan_s, 3),
        "replan_s": round(replan_s, 3),
        "letters_s": round(letters_s, 3),
        "letters": letters.counts.get("letters", 0),
        "confirm_s": round(confirm_s, 3),
        "plan_letters_confirm_s": round(plan_s + letters_s + confirm_s, 3),
        "plan_letters_confirm_cpu_s": round(cpu, 3),
        "codes_recorded": len(result.codes),
        "stage2_invitations": len(stage2.invitations),
        "stage2_plan_s": round(stage2_s, 3),
    }


# -- parent: prepares both sides and alternates them ----------------------------------------
def _run_child(src: Path, cwd: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"benchmark child failed ({' '.join(args[:1])}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _baseline_source(rev: str, into: Path) -> Path:
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "recall", "data", "letter_templates"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        sys.exit(f"cannot take revision {rev} with git archive: {archive.stderr.decode()[:300]}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def _settle() -> None:
    """Neither side pays for the benchmark's own file handling.

    The database copy is flushed before a side starts (otherwise the side that syncs its
    letters also writes the copy). Letter folders are only removed at the end: on ext4
    without a journal, creating a file skips every inode freed in the last seconds to
    minutes, so creating 1,700 letters just after deleting the other side's 1,700 cost
    0.3-0.6 s of kernel time in `open` (seen with perf: find_inode_bit/recently_deleted),
    on whichever side came second.
    """
    if hasattr(os, "sync"):
        os.sync()


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    doc = {k: v for k, v in runs[0].items() if k not in STEPS}
    for step in STEPS:
        doc[step] = round(statistics.median(float(r[step]) for r in runs), 3)
    doc["rounds"] = [r["plan_letters_confirm_s"] for r in runs]
    return doc


def _compare(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    sides = {"before": _baseline_source(args.baseline_rev, tmp / "before-src"), "now": args.now}
    template = tmp / "template.db"
    built = _run_child(
        sides["before"],
        tmp,
        "--child-build",
        f"sqlite:///{template}",
        str(args.patients),
        str(args.events),
    )
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
    for rnd in range(args.rounds):
        order = ("before", "now") if rnd % 2 == 0 else ("now", "before")
        for side in order:
            work = tmp / f"{side}.db"
            shutil.copyfile(template, work)
            _settle()
            out = tmp / f"letters-{side}-{rnd}"
            runs[side].append(
                _run_child(sides[side], tmp, "--child-measure", f"sqlite:///{work}", str(out))
            )
            work.unlink()  # the letter folders stay until the end: see _settle
    now, before = _medians(runs["now"]), _medians(runs["before"])
    return {
        "benchmark": "monthly_run",
        "backend": "sqlite",
        **built,
        **now,
        "before": {"revision": args.baseline_rev, **before},
        "ratio_vs_before": round(
            now["plan_letters_confirm_s"] / before["plan_letters_confirm_s"], 2
        ),
        "cpu_ratio_vs_before": round(
            now["plan_letters_confirm_cpu_s"] / before["plan_letters_confirm_cpu_s"], 2
        ),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _today_only(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    built = _run_child(ROOT, tmp, "--child-build", url, str(args.patients), str(args.events))
    now = _run_child(ROOT, tmp, "--child-measure", url, str(tmp / "letters"))
    return {
        "benchmark": "monthly_run",
        "backend": url.split(":", 1)[0],
        **built,
        **now,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-build":
        print(json.dumps(_child_build(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-measure":
        print(json.dumps(_child_measure(sys.argv[2], Path(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=60_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline-rev", default="9a77492")
    ap.add_argument("--no-baseline", action="store_true", help="measure today's engine only")
    ap.add_argument("--now", type=Path, default=ROOT, help="source folder of today's engine")
    ap.add_argument("--db", help="with --no-baseline: database URL (default a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        doc = _today_only(args, Path(tmp)) if args.no_baseline else _compare(args, Path(tmp))
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
