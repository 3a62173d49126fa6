"""Benchmark: a PCN hub's whole month: 8 practices (SystmOne and EMIS), 80,000 patients,
1,300,000 events, on SQLite and on PostgreSQL.

Each practice gets its stage-1 plan, letters and confirmation in turn, as the hub team would
run them, then the PCN overview (every practice x condition) is read once. The practices are
synthetic (bench/engine_synth.py, one practice at a time, sizes from 6% to 20% of the PCN);
EMIS practices use the demo's local LTC stage codes. On PostgreSQL the tables are ANALYZEd
after the bulk load, as autovacuum would after an import.

Prints one JSON document per backend as it finishes, then the result: per-practice seconds,
`total_s` (the whole PCN month: every practice's plan + letters + confirm), `overview_s`
and the process's peak RSS. Targets: total_s <= 20 per backend, overview_s <= 1,
peak RSS < 500 MB. Nothing is asserted.

    python bench/pcn_month.py [--small] [--backend sqlite|pg|both] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_synth import TODAY, build
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recall.services.batches import confirm_batch, plan_batch
from recall.services.demo import DEMO_EMIS_STAGE_CODES
from recall.services.letters import render_batch_letters
from recall.services.practices import add_practice
from recall.services.settings import PracticeSettings, get_settings, save_settings
from recall.services.views.pcn_view import pcn_overview
from recall.store.db import Database

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SEND = dt.date(2026, 11, 20)
# share of the PCN's patients, clinical system: big and small, SystmOne and EMIS mixed
PRACTICES = (
    (0.20, "systmone"),
    (0.16, "emis"),
    (0.14, "systmone"),
    (0.12, "emis"),
    (0.11, "systmone"),
    (0.10, "emis"),
    (0.09, "systmone"),
    (0.08, "emis"),
)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _fresh_pg(admin_url: str) -> tuple[str, str]:
    name = f"recall_pcn_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def _drop_pg(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _setup_practice(db: Database, index: int, system: str) -> int:
    """One practice of the PCN, its clinical system set and (EMIS) its local stage codes."""
    summary = add_practice(
        db, f"D9{index + 1:04d}", name=f"Bench Practice {index + 1}", clinical_system=system
    )
    if system == "emis":
        with db.write() as s:
            settings = get_settings(s, summary.id)
            settings.stage_codes = dict(DEMO_EMIS_STAGE_CODES)
            save_settings(s, settings, operator="bench", practice_id=summary.id)
    return summary.id


def build_pcn(db: Database, patients: int, events: int) -> tuple[list[int], dict[str, int]]:
    """The synthetic PCN, practice by practice; returns the practice ids and counts."""
    ids: list[int] = []
    counts = {"patients": 0, "register_entries": 0, "events": 0}
    nhs_start = 999_000_000
    for i, (share, system) in enumerate(PRACTICES):
        n = round(patients * share)
        pid = _setup_practice(db, i, system)
        settings = PracticeSettings(clinical_system=system)
        if system == "emis":
            settings.stage_codes = dict(DEMO_EMIS_STAGE_CODES)
        got = build(
            db,
            n,
            round(events * share),
            seed=7 + i,
            practice_id=pid,
            settings=settings,
            nhs_start=nhs_start,
        )
        nhs_start += 2 * n  # each practice's own NHS numbers
        for key in counts:
            counts[key] += got[key]
        ids.append(pid)
    return ids, counts


def _timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def month_for(db: Database, pid: int, out: Path) -> dict[str, Any]:
    """One practice's stage-1 month: plan, letters, confirm."""
    plan, plan_s = _timed(
        plan_batch, db, 1, "2026-11", SEND, operator="bench", today=TODAY, practice_id=pid
    )
    letters, letters_s = _timed(
        render_batch_letters, db, plan.batch.id, out / f"batch-{plan.batch.id}", SEND, pdf=False
    )
    result, confirm_s = _timed(
        confirm_batch, db, plan.batch.id, SEND, operator="bench", today=TODAY
    )
    return {
        "practice_id": pid,
        "invitations": len(plan.invitations),
        "letters": letters.counts.get("letters", 0),
        "codes_recorded": len(result.codes),
        "plan_s": round(plan_s, 3),
        "letters_s": round(letters_s, 3),
        "confirm_s": round(confirm_s, 3),
        "seconds": round(plan_s + letters_s + confirm_s, 3),
    }


def run_backend(url: str, backend: str, patients: int, events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url)
        try:
            (ids, counts), build_s = _timed(build_pcn, db, patients, events)
            if db.backend == "postgresql":  # statistics, as autovacuum keeps after an import
                with db.write() as s:
                    s.execute(text("ANALYZE"))
            per_practice = []
            t0 = time.perf_counter()
            for pid in ids:
                per_practice.append(month_for(db, pid, Path(tmp)))
            total_s = time.perf_counter() - t0
            overview, overview_s = _timed(pcn_overview, db, TODAY)
        finally:
            db.dispose()
    return {
        "benchmark": "pcn_month",
        "backend": backend,
        "practices": len(ids),
        **counts,
        "build_s": round(build_s, 1),
        "per_practice": per_practice,
        "total_s": round(total_s, 3),
        "overview_s": round(overview_s, 3),
        "overview_rows": len(overview.rows),
        "overview_backlog": sum(p.backlog for p in overview.practices),
        "peak_rss_mb": peak_rss_mb(),
        "targets": {"total_s": 20, "overview_s": 1, "peak_rss_mb": 500},
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _one_backend(args: argparse.Namespace, patients: int, events: int) -> dict[str, Any]:
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return run_backend(f"sqlite:///{Path(tmp) / 'pcn.db'}", "sqlite", patients, events)
    url, name = _fresh_pg(args.pg_url)
    try:
        return run_backend(url, "postgresql", patients, events)
    finally:
        _drop_pg(args.pg_url, name)


def _in_own_process(backend: str, argv: list[str]) -> dict[str, Any]:
    """Each backend in a process of its own, so its peak RSS is its own."""
    proc = subprocess.run(
        [sys.executable, __file__, *argv, "--backend", backend],
        check=True,
        capture_output=True,
        text=True,
    )
    sys.stdout.write(proc.stdout)
    sys.stdout.flush()
    doc: dict[str, Any] = json.loads(proc.stdout[proc.stdout.rindex("\n{") + 1 :])
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="a quick check: 8,000 patients")
    ap.add_argument("--backend", choices=("sqlite", "pg", "both"), default="both")
    ap.add_argument("--pg-url", default=PG_ADMIN, help="a PostgreSQL server to make a db on")
    args = ap.parse_args()
    patients, events = (8_000, 130_000) if args.small else (80_000, 1_300_000)
    if args.backend != "both":
        print("\n" + json.dumps(_one_backend(args, patients, events), indent=2), flush=True)
        return
    argv = [*(["--small"] if args.small else []), "--pg-url", args.pg_url]
    results = {b: _in_own_process(b, argv) for b in ("sqlite", "pg")}
    summary: dict[str, Any] = {"benchmark": "pcn_month", "small": args.small}
    for r in results.values():
        for k in ("total_s", "overview_s", "peak_rss_mb"):
            summary[f"{r['backend']}_{k}"] = r[k]
    summary["per_practice_s"] = {
        r["backend"]: [p["seconds"] for p in r["per_practice"]] for r in results.values()
    }
    summary["targets"] = {"total_s": 20, "overview_s": 1, "peak_rss_mb": 500}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
