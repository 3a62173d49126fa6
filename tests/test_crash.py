"""kill -9 in the middle of confirm, letters, import and backfill: the database is before or after.

Each trial starts a real process (forked from a preloaded server, so it starts in
milliseconds), runs the use-case against the shared database and is killed with SIGKILL
either at a random point of its SQL (the child kills itself right after statement k, or
just before or just after COMMIT when k lands there) or after a random delay (the parent kills
it). A kill after COMMIT leaves "after"; the trial counts it as a kill point. Afterwards
the database must be exactly as before or exactly as after, and running the same command again
must finish the job with no duplicates. Trials per use-case and backend: RECALL_CRASH_TRIALS
(default 8).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from stress_support import (
    MONTH,
    TODAY,
    child,
    duplicates,
    expected_codes,
    live_codes,
    seed,
    write_practice,
)

from recall.outputs import MANIFEST
from recall.services.batches import confirm_batch, plan_batch, void_batch
from recall.services.errors import Refused
from recall.services.imports import import_file
from recall.services.letters import render_batch_letters
from recall.store.db import Database
from recall.store.models import audit_log_t, batch_t, import_run_t, invitation_t, recorded_code_t

# kill -9 trials in subprocesses: run by CI; skip locally with -m "not slow"
pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("RECALL_CRASH_TRIALS", "8"))
CTX = mp.get_context("forkserver")
CTX.set_forkserver_preload(
    ["__main__", "stress_support", "recall.services.batches", "recall.services.letters"]
)


# ----------------------------------------------------------------------------- running a child


def run_child(
    op: str,
    url: str,
    args: dict[str, Any],
    *,
    kill_at: int | None = None,
    delay: float | None = None,
) -> tuple[str, Any]:
    """('killed', None) when SIGKILL landed before the use-case finished, else its report."""
    mine, theirs = CTX.Pipe()
    proc = CTX.Process(target=child, args=(op, url, args, kill_at, theirs))
    proc.start()
    theirs.close()  # so a dead child reads as end-of-file at once
    assert mine.poll(60), "child did not start"
    assert mine.recv() == ("ready",)
    if delay is not None:
        time.sleep(delay)
        proc.kill()  # SIGKILL
    proc.join(120)
    try:
        report = mine.recv()
    except EOFError:
        report = None
    if report is None:
        assert proc.exitcode == -signal.SIGKILL, f"child ended with {proc.exitcode}"
        return "killed", None
    if report[0] == "error":
        pytest.fail(f"{op} failed in the child: {report[1]}")
    return "done", report


def _scalar(db: Database, q: Any) -> int:
    with db.read() as s:
        return int(s.execute(q).scalar_one())


def _audit(db: Database, action: str, batch_id: int | None = None) -> int:
    q = select(func.count()).select_from(audit_log_t).where(audit_log_t.c.action == action)
    if batch_id is not None:
        q = q.where(audit_log_t.c.batch_id == batch_id)
    return _scalar(db, q)


def _no_duplicates(db: Database) -> None:
    assert duplicates(db) == dict.fromkeys(duplicates(db), 0)


def _kill_point(rng: random.Random, trial: int, statements: int, seconds: float) -> dict[str, Any]:
    if trial % 2 == 0:
        return {"kill_at": rng.randint(1, max(statements, 1))}
    return {"delay": rng.uniform(0.0, seconds * 1.1)}


# ----------------------------------------------------------------------------- confirm


def _confirm_state(db: Database, batch_id: int, invited: int, want: int) -> str:
    with db.read() as s:
        status = s.execute(select(batch_t.c.status).where(batch_t.c.id == batch_id)).scalar_one()
    i, r = invitation_t, recorded_code_t
    sent = _scalar(
        db,
        select(func.count()).where(i.c.batch_id == batch_id, i.c.status == "sent"),
    )
    codes = _scalar(
        db,
        select(func.count()).where(r.c.batch_id == batch_id, r.c.voided.is_(False)),
    )
    audit = _audit(db, "batch.confirm", batch_id)
    state = (status, sent, codes, audit)
    if state == ("planned", 0, 0, 0):
        return "before"
    if state == ("sent", invited, want, 1):
        return "after"
    return f"between: {state}"


def test_kill_during_confirm(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    practice = write_practice(tmp_path / "csv", 100)
    seed(db, practice)
    want = expected_codes(practice)
    rng = random.Random(f"confirm-{db.backend}")
    plan = plan_batch(db, 1, MONTH, TODAY, today=TODAY)
    outcome, report = run_child("confirm", db_url, {"batch": plan.batch.id})
    assert outcome == "done"
    _tag, statements, seconds = report
    assert _confirm_state(db, plan.batch.id, practice.size, want) == "after"
    void_batch(db, plan.batch.id, "crash test reset")
    seen: Counter[str] = Counter()
    for trial in range(TRIALS):
        plan = plan_batch(db, 1, MONTH, TODAY, today=TODAY)
        bid = plan.batch.id
        assert len(plan.invitations) == practice.size
        outcome, _ = run_child(
            "confirm", db_url, {"batch": bid}, **_kill_point(rng, trial, statements, seconds)
        )
        state = _confirm_state(db, bid, practice.size, want)
        assert state in ("before", "after"), f"trial {trial}: {state}"
        seen[f"{outcome}_{state}"] += 1
        if state == "before":
            confirm_batch(db, bid, TODAY, today=TODAY, operator="rerun")
        else:
            with pytest.raises(Refused, match="already confirmed"):
                confirm_batch(db, bid, TODAY, today=TODAY, operator="rerun")
        assert _confirm_state(db, bid, practice.size, want) == "after"
        assert live_codes(db) == want
        _no_duplicates(db)
        void_batch(db, bid, "crash test reset")
    _report(db, "confirm", seen)
    db.dispose()


# ----------------------------------------------------------------------------- import


def _import_state(db: Database, table: str, before: tuple[int, int, int], rows: int) -> str:
    now = (
        _scalar(db, text(f"SELECT count(*) FROM {table}")),
        _scalar(db, select(func.count()).select_from(import_run_t)),
        _scalar(db, select(func.count()).select_from(audit_log_t)),
    )
    if now == before:
        return "before"
    if now == (before[0] + rows, before[1] + 1, before[2] + 1):
        return "after"
    return f"between: {before} -> {now}"


def _counts(db: Database, table: str) -> tuple[int, int, int]:
    return (
        _scalar(db, text(f"SELECT count(*) FROM {table}")),
        _scalar(db, select(func.count()).select_from(import_run_t)),
        _scalar(db, select(func.count()).select_from(audit_log_t)),
    )


def test_kill_during_import(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    rng = random.Random(f"import-{db.backend}")
    size = 800
    seen: Counter[str] = Counter()
    measured: dict[str, tuple[int, float]] = {}
    for trial in range(TRIALS + 1):
        practice = write_practice(tmp_path / f"csv{trial}", size, start=999_100_000 + trial * 4000)
        for kind, path, table, rows in (
            ("patients", practice.patients, "patient", size),
            ("events", practice.events, "event", 2 * size),
        ):
            before = _counts(db, table)
            args = {"kind": kind, "path": str(path)}
            if trial == 0:  # measure a whole run first
                outcome, report = run_child("import", db_url, args)
                measured[kind] = (report[1], report[2])
                state = _import_state(db, table, before, rows)
                assert state == "after", state
                continue
            statements, seconds = measured[kind]
            outcome, _ = run_child(
                "import", db_url, args, **_kill_point(rng, trial, statements, seconds)
            )
            state = _import_state(db, table, before, rows)
            assert state in ("before", "after"), f"{kind} trial {trial}: {state}"
            seen[f"{outcome}_{state}"] += 1
            again = import_file(db, kind, path, operator="rerun", today=TODAY)
            assert again.added == (rows if state == "before" else 0)
            after_rerun = _counts(db, table)
            assert after_rerun[0] == before[0] + rows
            _no_duplicates(db)
        if trial == 0:
            import_file(db, "registers", practice.registers, operator="seed", today=TODAY)
    _report(db, "import", seen)
    db.dispose()


# ----------------------------------------------------------------------------- backfill


def _backfill_counts(db: Database) -> tuple[int, int, int]:
    return (
        _scalar(db, text("SELECT count(*) FROM backfill_run")),
        _scalar(db, text("SELECT count(*) FROM recorded_code WHERE origin = 'backfill'")),
        _audit(db, "backfill.apply"),
    )


def test_kill_during_backfill_apply(db_url: str, tmp_path: Path) -> None:
    """Each trial brings new patients with generic-only invitations, then kills the apply."""
    from recall.services.backfill import apply_backfill

    db = Database(db_url)
    rng = random.Random(f"backfill-{db.backend}")
    trials = max(TRIALS // 2, 2)
    seen: Counter[str] = Counter()
    measured: tuple[int, float] = (0, 0.0)
    for trial in range(trials + 1):
        practice = write_practice(tmp_path / f"csv{trial}", 60, start=999_300_000 + trial * 1000)
        generic = tmp_path / f"generic{trial}.csv"
        generic.write_text(
            "nhs_number,date,code\n"
            + "".join(
                f"{n},2026-0{5 + trial % 4}-1{trial % 9},1109921000000106\n" for n in practice.nhs
            )
        )
        seed(db, practice)
        import_file(db, "events", generic, operator="seed", today=TODAY)
        before = _backfill_counts(db)
        if trial == 0:
            outcome, report = run_child("backfill", db_url, {})
            measured = (report[1], report[2])
            assert _backfill_counts(db)[0] == before[0] + 1
            continue
        outcome, _ = run_child("backfill", db_url, {}, **_kill_point(rng, trial, *measured))
        now = _backfill_counts(db)
        if now == before:
            state = "before"
        elif now[0] == before[0] + 1 and now[1] > before[1] and now[2] == before[2] + 1:
            state = "after"
        else:
            state = f"between: {before} -> {now}"
        assert state in ("before", "after"), f"trial {trial}: {state}"
        seen[f"{outcome}_{state}"] += 1
        again = apply_backfill(db, today=TODAY, operator="rerun")
        assert (again.run_id is None) == (state == "after")
        assert apply_backfill(db, today=TODAY, operator="rerun").run_id is None  # all done
        _no_duplicates(db)
    kills = sum(n for k, n in seen.items() if k.startswith("killed"))
    print(f"crash figures {db.backend} backfill: {dict(seen)} kill points: {kills}")
    assert sum(seen.values()) == trials and kills >= 1
    db.dispose()


# ----------------------------------------------------------------------------- letters


def _complete(path: Path) -> bool:
    if path.suffix == ".docx":
        try:
            with zipfile.ZipFile(path) as z:
                return z.testzip() is None and "word/document.xml" in z.namelist()
        except zipfile.BadZipFile:
            return False
    return path.stat().st_size > 0


def test_kill_during_letters(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    practice = write_practice(tmp_path / "csv", 40)
    seed(db, practice)
    rng = random.Random(f"letters-{db.backend}")
    plan = plan_batch(db, 1, MONTH, TODAY, today=TODAY)
    bid = plan.batch.id
    first = tmp_path / "letters-0"
    outcome, report = run_child("letters", db_url, {"batch": bid, "out": str(first)})
    assert outcome == "done"
    _tag, statements, seconds = report
    expected = sorted(p.name for p in first.iterdir())
    # one per patient, the print file, and the manifest of the files recall wrote there
    assert len(expected) == practice.size + 2 and MANIFEST in expected
    seen: Counter[str] = Counter()
    for trial in range(1, TRIALS + 1):
        out = tmp_path / f"letters-{trial}"
        audits = _audit(db, "batch.letters", bid)
        outcome, _ = run_child(
            "letters",
            db_url,
            {"batch": bid, "out": str(out)},
            **_kill_point(rng, trial - 1, statements, seconds),
        )
        now = _audit(db, "batch.letters", bid)
        folder = _scalar_text(db, bid)
        if now == audits:
            state = "before"
        elif now == audits + 1 and folder == str(out):
            state = "after"
        else:
            state = f"between: audit {audits}->{now} folder {folder}"
        assert state in ("before", "after"), f"trial {trial}: {state}"
        seen[f"{outcome}_{state}"] += 1
        if out.exists():  # whatever was written is whole (each file replaced in one step)
            for f in out.iterdir():
                if not f.name.startswith("."):
                    assert _complete(f), f"trial {trial}: {f.name} is cut short"
        render_batch_letters(db, bid, out, today=TODAY, operator="rerun", pdf=False)
        assert sorted(p.name for p in out.iterdir()) == expected, f"trial {trial}"
        assert all(_complete(f) for f in out.iterdir())
        assert _scalar_text(db, bid) == str(out)
    _report(db, "letters", seen)
    db.dispose()


def _scalar_text(db: Database, batch_id: int) -> str | None:
    with db.read() as s:
        value = s.execute(select(batch_t.c.letters_dir).where(batch_t.c.id == batch_id)).scalar()
    return None if value is None else str(value)


def _report(db: Database, op: str, seen: Counter[str]) -> None:
    kills = sum(n for k, n in seen.items() if k.startswith("killed"))
    print(f"crash figures {db.backend} {op}: {dict(seen)} kill points: {kills}")
    assert sum(seen.values()) == (2 * TRIALS if op == "import" else TRIALS)
    assert kills >= 1, f"no trial was killed in the middle of {op}: {dict(seen)}"
