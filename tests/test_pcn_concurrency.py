"""Two hub terminals confirm practice A's and practice B's batches at the same moment: both
succeed, and every code lands on its own practice's patients and batch."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest
from pcn_support import build_pcn
from sqlalchemy import text
from stress_support import MONTH, TODAY, duplicates, expected_codes

from recall.services.batches import plan_batch
from recall.store.db import Database

pytestmark = pytest.mark.slow

TIMEOUT = 120


def terminal(url: str, batches: list[int], barrier: Any, out: Any) -> None:
    """One hub terminal: each round, confirm its practice's batch as soon as both are ready."""
    from recall.services.batches import confirm_batch
    from recall.services.errors import RecallError
    from recall.store.db import Database

    db = Database(url, migrate=False)
    for batch in batches:
        barrier.wait(TIMEOUT)
        try:
            done = confirm_batch(db, batch, TODAY, today=TODAY, operator=f"hub-{batch}")
            out.put({"batch": batch, "codes": len(done.codes)})
        except RecallError as exc:
            out.put({"batch": batch, "refused": str(exc)})
        except Exception as exc:  # reported to the parent, which fails the test
            out.put({"batch": batch, "crash": f"{type(exc).__name__}: {exc}"})
    db.dispose()


def _crossed(db: Database) -> int:
    """Codes and invitations whose patient, batch or practice belong to different practices."""
    sql = """
        SELECT (SELECT count(*) FROM recorded_code r JOIN patient p ON p.id = r.patient_id
                JOIN batch b ON b.id = r.batch_id
                WHERE p.practice_id <> b.practice_id OR r.practice_id <> b.practice_id)
             + (SELECT count(*) FROM invitation i JOIN patient p ON p.id = i.patient_id
                JOIN batch b ON b.id = i.batch_id WHERE p.practice_id <> b.practice_id)"""
    with db.read() as s:
        return int(s.execute(text(sql)).scalar_one())


def test_two_terminals_confirm_two_practices_at_once(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    try:
        pcn = build_pcn(db, tmp_path, size=10, system_b="systmone")
        a = plan_batch(db, 1, MONTH, TODAY, today=TODAY, practice_id=pcn.a.id)
        b = plan_batch(db, 1, MONTH, TODAY, today=TODAY, practice_id=pcn.b.id)
        rounds = [(a.batch.id, b.batch.id)]
    finally:
        db.dispose()
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=terminal, args=(db_url, [r[i] for r in rounds], barrier, out))
        for i in (0, 1)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=TIMEOUT) for _ in range(2 * len(rounds))]
    for p in procs:
        p.join(TIMEOUT)
        assert p.exitcode == 0
    assert all("codes" in r for r in results), results
    by_batch = {r["batch"]: r["codes"] for r in results}
    a_batch, b_batch = rounds[0]
    assert by_batch == {a_batch: expected_codes(pcn.files_a), b_batch: expected_codes(pcn.files_b)}
    db = Database(db_url)
    try:
        assert _crossed(db) == 0
        assert set(duplicates(db).values()) == {0}
        with db.read() as s:
            owners = s.execute(
                text(
                    "SELECT r.batch_id, p.practice_id, count(*) FROM recorded_code r"
                    " JOIN patient p ON p.id = r.patient_id GROUP BY r.batch_id, p.practice_id"
                )
            ).all()
        assert sorted(tuple(o) for o in owners) == sorted(
            [
                (a_batch, pcn.a.id, expected_codes(pcn.files_a)),
                (b_batch, pcn.b.id, expected_codes(pcn.files_b)),
            ]
        )
    finally:
        db.dispose()
