"""Benchmark: backfill plan for a PCN-sized list (60,000 patients, 1,000,000 journal events).

Builds a synthetic practice with bulk inserts (codes taken from the shipped catalogue and
profile; filler events use made-up local codes), then times `plan_backfill`, with a single
SQL scan of the event table in the same run as the baseline. Prints one JSON document.

    /work/venv/bin/python bench/backfill.py [--patients N] [--events N] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import multiprocessing.queues
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from recall.services.backfill import apply_backfill, plan_backfill
from recall.services.catalogue import build_catalogue
from recall.services.settings import PracticeSettings
from recall.store.db import Database
from recall.store.models import event_t, patient_t, register_t
from recall.store.practice_repo import get_or_create_practice

TODAY = dt.date(2026, 11, 27)
YEAR_START = dt.date(2026, 4, 1)
CHUNK = 50_000


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def build(db: Database, patients: int, events: int, seed: int) -> dict[str, int]:
    """A synthetic practice: registers, invitation coding in every style, filler events."""
    rng = random.Random(seed)
    catalogue = build_catalogue(PracticeSettings())
    profile = catalogue.profile
    stage_codes = [profile.stage_codes[n].code for n in (1, 2, 3)]
    generic = sorted(profile.generic_codes)
    conditions = [c for c in catalogue if c.invite.codes or c.key in ("CHD", "STIA")]
    specific = {c.key: sorted(c.condition_invite_codes(profile.generic_codes)) for c in conditions}
    reviews = {c.key: sorted(c.review_codes) for c in conditions}
    with db.write() as s:
        practice_id = get_or_create_practice(s).id
    with db.write() as s:
        for chunk in _chunks(
            {
                "practice_id": practice_id,
                "nhs_number": f"{9000000000 + i:010d}",
                "family_name": "Bench",
                "given_name": "Patient",
                "date_of_birth": dt.date(1930 + i % 70, 1 + i % 12, 1 + i % 28),
                "communication_needs": "",
            }
            for i in range(patients)
        ):
            s.execute(insert(patient_t), chunk)
        first_id = s.scalar(select(func.min(patient_t.c.id))) or 1

    registers: list[dict[str, Any]] = []
    journal: dict[tuple[int, dt.date, str], None] = {}
    on_register: dict[int, list[str]] = {}
    days_in_year = (TODAY - YEAR_START).days
    for pid in range(first_id, first_id + patients):
        if rng.random() > 0.45:
            continue
        keys = rng.sample([c.key for c in conditions], k=rng.choice((1, 1, 1, 2, 2, 3)))
        on_register[pid] = keys
        for key in keys:
            since = None if rng.random() < 0.7 else YEAR_START + dt.timedelta(rng.randrange(240))
            registers.append({"patient_id": pid, "condition": key, "diagnosed_on": since})
        # 0-3 invitation dates this year, coded in one of the practice styles
        day = YEAR_START + dt.timedelta(rng.randrange(days_in_year))
        for stage in range(1, rng.choice((0, 1, 1, 2, 2, 3)) + 1):
            if day > TODAY:
                break
            style = rng.random()
            if style < 0.4:
                journal[(pid, day, rng.choice(generic))] = None
            elif style < 0.8:
                journal[(pid, day, stage_codes[stage - 1])] = None
            else:
                journal[(pid, day, stage_codes[stage - 1])] = None
                for key in keys:
                    if specific[key]:
                        journal[(pid, day, specific[key][0])] = None
            day += dt.timedelta(days=rng.choice((3, 7, 14, 14, 21, 28)))
        for key in keys:
            if reviews[key] and rng.random() < 0.3:
                rday = YEAR_START + dt.timedelta(rng.randrange(days_in_year))
                journal[(pid, rday, reviews[key][0])] = None
    coded = len(journal)
    filler = [f"bench-{n:04d}" for n in range(400)]
    start_2y = YEAR_START - dt.timedelta(days=400)
    span = (TODAY - start_2y).days
    while len(journal) < events:
        pid = first_id + rng.randrange(patients)
        journal[(pid, start_2y + dt.timedelta(rng.randrange(span)), rng.choice(filler))] = None
    with db.write() as s:
        for chunk in _chunks(iter(registers)):
            s.execute(insert(register_t), chunk)
        for chunk in _chunks(
            {"patient_id": p, "date": d, "code": c, "code_system": "local"} for (p, d, c) in journal
        ):
            s.execute(insert(event_t), chunk)
    return {
        "patients": patients,
        "events": len(journal),
        "invitation_events": coded,
        "register_entries": len(registers),
    }


def _build_child(
    url: str, patients: int, events: int, seed: int, queue: multiprocessing.queues.Queue[Any]
) -> None:
    db = Database(url)
    queue.put(build(db, patients, events, seed))
    db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=60_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--apply", action="store_true", help="also time apply (and a 2nd apply)")
    args = parser.parse_args()
    tmp = None
    url = args.db
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    # Build in a child process so the peak RSS below is the plan's, not the generator's.
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.queues.Queue[dict[str, int]] = ctx.Queue()
    t0 = time.perf_counter()
    child = ctx.Process(
        target=_build_child, args=(url, args.patients, args.events, args.seed, queue)
    )
    child.start()
    sizes = queue.get()
    child.join()
    build_s = time.perf_counter() - t0
    db = Database(url)
    rss_before = _rss_mb()

    t0 = time.perf_counter()
    n_scanned = 0
    with db.read() as session:
        rows = session.execute(
            select(event_t.c.patient_id, event_t.c.date, event_t.c.code).execution_options(
                yield_per=20_000
            )
        )
        for _row in rows:
            n_scanned += 1
    scan_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = plan_backfill(db, today=TODAY)
    plan_s = time.perf_counter() - t0
    s = result.summary
    out = {
        "benchmark": "backfill_plan",
        "backend": db.backend,
        **sizes,
        "build_s": round(build_s, 2),
        "baseline_event_scan_s": round(scan_s, 3),
        "baseline_rows": n_scanned,
        "plan_s": round(plan_s, 3),
        "plan_vs_scan": round(plan_s / scan_s, 2) if scan_s else None,
        "items": s.items,
        "stage_codes": s.stage_codes,
        "condition_codes": s.condition_codes,
        "groups": s.groups,
        "blocked": s.blocked,
        "becomes_eligible": s.becomes_eligible,
        "peak_rss_mb_before_plan": rss_before,
        "peak_rss_mb": _rss_mb(),
    }
    if args.apply:
        t0 = time.perf_counter()
        first = apply_backfill(db, today=TODAY, operator="bench")
        out["apply_s"] = round(time.perf_counter() - t0, 3)
        out["applied"] = first.recorded
        t0 = time.perf_counter()
        out["second_apply_recorded"] = apply_backfill(db, today=TODAY, operator="bench").recorded
        out["second_apply_s"] = round(time.perf_counter() - t0, 3)
        out["peak_rss_mb"] = _rss_mb()
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    db.dispose()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
