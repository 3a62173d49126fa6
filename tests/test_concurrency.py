"""Two terminals plan and confirm the same cohort and stage at the same moment.

Real processes (multiprocessing, spawn) meet at a barrier, then each runs plan_batch and
confirm_batch for November's 1st invitations. Whatever the interleaving, the database must
end with exactly one live invitation per patient and one set of codes; the losing terminal
gets a clear refusal (never an unexpected exception). The parent then voids the round's
batches so the next round starts from the same state. ROUNDS defaults to 50 per backend;
RECALL_STRESS_ROUNDS changes it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from stress_support import MONTH, TODAY, duplicates, expected_codes, live_codes, seed
from stress_support import write_practice as write_csvs

from recall.services.batches import void_batch
from recall.store.db import Database

# two-terminal rounds in threads and processes: run by CI; skip locally with -m "not slow"
pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("RECALL_STRESS_ROUNDS", "50"))
PATIENTS = 12
OPERATORS = ("reception-1", "reception-2")
TIMEOUT = 120


def terminal(url: str, operator: str, rounds: int, barrier: Any, out: Any) -> None:
    """One reception terminal: each round, plan and confirm November's 1st invitations."""
    from recall.services.batches import confirm_batch, plan_batch
    from recall.services.errors import RecallError
    from recall.store.db import Database

    os.environ["RECALL_OPERATOR"] = operator
    db = Database(url)
    jitter = random.Random(f"{operator}-{url}")
    for r in range(rounds):
        # every other round: a few ms of jitter, so plans and confirms interleave differently
        pauses = [jitter.uniform(0, 0.03) if r % 2 else 0.0 for _ in range(2)]
        barrier.wait(TIMEOUT)
        outcome: dict[str, Any] = {"operator": operator, "round": r}
        try:
            time.sleep(pauses[0])
            plan = plan_batch(db, 1, MONTH, TODAY, today=TODAY, operator=operator)
            outcome["batch"] = plan.batch.id
            outcome["planned"] = len(plan.invitations)
            time.sleep(pauses[1])
            done = confirm_batch(db, plan.batch.id, TODAY, today=TODAY, operator=operator)
            outcome["codes"] = len(done.codes)
        except RecallError as exc:
            outcome["refused"] = str(exc)
        except Exception as exc:  # reported to the parent, which fails the test
            outcome["crash"] = f"{type(exc).__name__}: {exc}"
        out.put(outcome)
        barrier.wait(TIMEOUT)  # the parent checks the database
        barrier.wait(TIMEOUT)  # ... and resets it for the next round
    db.dispose()


def classify(outcome: dict[str, Any], expected: int) -> str:
    if "crash" in outcome:
        return "crash"
    if "refused" in outcome:
        msg = outcome["refused"]
        if re.search(r"already confirmed by reception-\d at \d\d/\d\d/\d{4} \d\d:\d\d", msg):
            return "refused_already_done_by"
        if "another terminal" in msg:
            return "refused_concurrent"
        return "refused_other"
    if outcome.get("codes") == expected:
        return "confirmed"
    if outcome.get("codes") == 0:
        return "confirmed_empty"  # planned after the other terminal had sent everyone
    return "partial"


def run_rounds(url: str, rounds: int, patients: int, workdir: Path) -> dict[str, Any]:
    """Seed, run `rounds` rounds with two terminals, check every round; returns the figures."""
    db = Database(url)
    practice = write_csvs(workdir / "csv", patients)
    seed(db, practice)
    want = expected_codes(practice)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(3)
    out = ctx.Queue()
    procs = [ctx.Process(target=terminal, args=(url, op, rounds, barrier, out)) for op in OPERATORS]
    tally: Counter[str] = Counter()
    failures: list[str] = []
    messages: set[str] = set()
    started = time.perf_counter()
    for p in procs:
        p.start()
    try:
        for r in range(rounds):
            barrier.wait(TIMEOUT)
            outcomes = [out.get(timeout=TIMEOUT) for _ in OPERATORS]
            barrier.wait(TIMEOUT)
            kinds = sorted(classify(o, want) for o in outcomes)
            tally.update(kinds)
            same = outcomes[0].get("batch") == outcomes[1].get("batch")
            tally["same_batch_planned" if same else "separate_batches_planned"] += 1
            for o in outcomes:
                if "refused" in o:
                    messages.add(re.sub(r"\d+", "N", o["refused"]))
            dup = duplicates(db)
            codes = live_codes(db)
            if (
                any(dup.values())
                or codes != want
                or kinds.count("confirmed") != 1
                or {"crash", "partial", "refused_other"} & set(kinds)
            ):
                failures.append(f"round {r}: {kinds} codes={codes}/{want} dup={dup} {outcomes}")
            with db.read() as s:
                live = s.execute(
                    text("SELECT id FROM batch WHERE status <> 'void' ORDER BY id")
                ).scalars()
                batch_ids = list(live)
            for bid in batch_ids:
                void_batch(db, bid, "stress round reset", operator="stress")
            barrier.wait(TIMEOUT)
    finally:
        for p in procs:
            p.join(TIMEOUT)
            if p.is_alive():
                p.kill()
        db.dispose()
    return {
        "backend": db.backend,
        "rounds": rounds,
        "patients": patients,
        "outcomes": dict(tally),
        "failures": failures,
        "seconds": round(time.perf_counter() - started, 1),
        "refusal_messages": sorted(messages),
    }


@pytest.mark.slow
def test_two_terminals_confirm_same_cohort(db_url: str, tmp_path: Path) -> None:
    try:
        figures = run_rounds(db_url, ROUNDS, PATIENTS, tmp_path)
    except (queue.Empty, mp.TimeoutError) as exc:  # pragma: no cover - a hung terminal
        pytest.fail(f"a terminal did not answer: {exc!r}")
    print(figures)
    assert figures["failures"] == []
    assert figures["outcomes"]["confirmed"] == ROUNDS
    assert figures["outcomes"]["refused_already_done_by"] == ROUNDS


def test_second_confirm_waits_for_the_first_then_is_told_who(db_url: str, tmp_path: Path) -> None:
    """Terminal 1 is about to commit its confirm; terminal 2's confirm must wait for it (row
    lock on PostgreSQL, write lock on SQLite) and then refuse, naming terminal 1."""
    import threading

    from sqlalchemy import event

    from recall.services.batches import confirm_batch, plan_batch
    from recall.services.errors import Refused

    setup = Database(db_url)
    practice = write_csvs(tmp_path / "csv", 5)
    seed(setup, practice)
    batch = plan_batch(setup, 1, MONTH, TODAY, today=TODAY, operator="reception-1").batch.id
    one, two = Database(db_url), Database(db_url)
    about_to_commit, go = threading.Event(), threading.Event()

    def hold(_conn: Any) -> None:
        about_to_commit.set()
        assert go.wait(TIMEOUT)

    event.listen(one.engine, "commit", hold)
    results: dict[str, Any] = {}

    def terminal(name: str, db: Database) -> None:
        try:
            results[name] = confirm_batch(db, batch, TODAY, today=TODAY, operator=name)
        except Refused as exc:
            results[name] = exc

    first = threading.Thread(target=terminal, args=("reception-1", one))
    second = threading.Thread(target=terminal, args=("reception-2", two))
    first.start()
    assert about_to_commit.wait(TIMEOUT)
    second.start()
    second.join(0.5)
    waited = second.is_alive()  # it cannot get past the lock while terminal 1 holds it
    go.set()
    first.join(TIMEOUT)
    second.join(TIMEOUT)
    assert waited, "the second confirm did not wait for the first"
    assert not isinstance(results["reception-1"], Exception)
    refusal = results["reception-2"]
    assert isinstance(refusal, Refused)
    assert re.search(r"already confirmed by reception-1 at \d\d/\d\d/\d{4} \d\d:\d\d", str(refusal))
    assert live_codes(setup) == expected_codes(practice)
    assert duplicates(setup) == dict.fromkeys(duplicates(setup), 0)
    for db in (setup, one, two):
        db.dispose()
