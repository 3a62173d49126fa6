"""Shared helpers for the stress tests (concurrency, crash safety, bad input).

A small practice is built through the real import service from CSV files, and the invariants
are checked with plain SQL: one live invitation per patient per stage per QOF year, a live
recorded code unique on (patient, code, date), and one set of codes per confirmed cohort.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from recall.services.imports import import_file
from recall.store.db import Database

TODAY = dt.date(2026, 11, 27)
MONTH = "2026-11"
CONDITIONS = ("HYP", "DM")
FAMILY = ("O'Brien", "Łukasz", "Nguyễn", "Smith & Sons", "<Taylor>", "Featherstonehaugh")
GIVEN = ("Siân", "Zoë", "Anne-Marie", "José", "Mohammed", "Aoife")


def nhs_numbers(start: int = 999_100_000) -> Iterator[str]:
    """Valid NHS numbers (modulus 11) from the 999 test range."""
    for n in itertools.count(start + 1):
        body = f"{n:09d}"
        total = sum(int(d) * (10 - i) for i, d in enumerate(body))
        check = 11 - total % 11
        if check == 10:
            continue
        yield body + str(0 if check == 11 else check)


@dataclass(frozen=True)
class Practice:
    patients: Path
    registers: Path
    events: Path
    nhs: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.nhs)


def write_practice(folder: Path, n: int, *, start: int = 999_100_000) -> Practice:
    """CSV exports for `n` patients born in November, each on the HYP register (half on DM)."""
    folder.mkdir(parents=True, exist_ok=True)
    numbers = tuple(itertools.islice(nhs_numbers(start), n))
    names: list[str] = []
    patients, registers, events = (
        folder / "patients.csv",
        folder / "registers.csv",
        folder / "events.csv",
    )
    with patients.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["nhs_number", "family_name", "given_name", "date_of_birth", "postcode"])
        for i, nhs in enumerate(numbers):
            family, given = FAMILY[i % len(FAMILY)] + f"{i}", GIVEN[i % len(GIVEN)]
            names.append(family)
            w.writerow([nhs, family, given, f"19{40 + i % 50}-11-{1 + i % 28:02d}", "LS1 4AB"])
    with registers.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["nhs_number", "condition", "diagnosed_on"])
        for i, nhs in enumerate(numbers):
            w.writerow([nhs, "HYP", "2010-01-01"])
            if i % 2:
                w.writerow([nhs, "DM", "2012-06-30"])
    with events.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["nhs_number", "date", "code", "term"])
        for i, nhs in enumerate(numbers):
            w.writerow([nhs, "2025-05-01", "38341003", "Hypertensive disorder"])
            w.writerow([nhs, f"2026-0{1 + i % 9}-15", "271649006", "Systolic blood pressure"])
    return Practice(patients, registers, events, numbers, tuple(names))


def seed(db: Database, practice: Practice, *, events: bool = False) -> None:
    """Import the practice through the real import service (operator: seed)."""
    import_file(db, "patients", practice.patients, operator="seed", today=TODAY)
    import_file(db, "registers", practice.registers, operator="seed", today=TODAY)
    if events:
        import_file(db, "events", practice.events, operator="seed", today=TODAY)


def expected_codes(practice: Practice) -> int:
    """Live codes for one confirmed stage: the stage code plus one per invited condition."""
    return sum(1 + 1 + (i % 2) for i in range(practice.size))


TABLES = (
    "patient",
    "register_entry",
    "event",
    "import_run",
    "batch",
    "invitation",
    "recorded_code",
    "backfill_run",
    "audit_log",
    "codelist_entry",
    "setting",
    "practice",
)


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table that an import, confirm or backfill can write (one query)."""
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES)
    with db.read() as s:
        row = s.execute(text(sql)).one()
    return dict(zip(TABLES, map(int, row), strict=True))


def duplicates(db: Database) -> dict[str, int]:
    """Groups that break an invariant (each must be 0)."""
    queries = {
        "live_invitations": """
            SELECT count(*) FROM (SELECT patient_id, stage, qof_year FROM invitation
            WHERE status IN ('planned', 'sent') GROUP BY patient_id, stage, qof_year
            HAVING count(*) > 1) d""",
        "live_codes": """
            SELECT count(*) FROM (SELECT patient_id, code, date FROM recorded_code
            WHERE voided = false GROUP BY patient_id, code, date HAVING count(*) > 1) d""",
        "events": """
            SELECT count(*) FROM (SELECT patient_id, date, code FROM event
            GROUP BY patient_id, date, code HAVING count(*) > 1) d""",
        "patients": """
            SELECT count(*) FROM (SELECT practice_id, nhs_number FROM patient
            GROUP BY practice_id, nhs_number HAVING count(*) > 1) d""",
        "codes_without_sent_invitation": """
            SELECT count(*) FROM recorded_code r LEFT JOIN invitation i
            ON i.id = r.invitation_id WHERE r.voided = false AND r.origin = 'send'
            AND (i.status IS NULL OR i.status <> 'sent')""",
        "sent_invitation_without_codes": """
            SELECT count(*) FROM invitation i WHERE i.status = 'sent' AND NOT EXISTS
            (SELECT 1 FROM recorded_code r WHERE r.invitation_id = i.id AND r.voided = false)""",
        "sent_batch_unstamped": """
            SELECT count(*) FROM batch WHERE status = 'sent'
            AND (sent_on IS NULL OR confirmed_by IS NULL)""",
    }
    with db.read() as s:
        return {k: int(s.execute(text(q)).scalar_one()) for k, q in queries.items()}


# ----------------------------------------------------------------------------- crash child


def child(op: str, url: str, args: dict[str, Any], kill_at: int | None, conn: Any) -> None:
    """Run one use-case; with `kill_at`, SIGKILL itself at that statement, or just before or
    just after COMMIT when the count lands there."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from recall.services.batches import confirm_batch
    from recall.services.letters import render_batch_letters

    db = Database(url, migrate=False)  # the parent made it; skip loading the migrations
    seen = [0]

    def tick(*_a: Any) -> None:
        seen[0] += 1
        if kill_at is not None and seen[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(db.engine, "after_cursor_execute", tick)
    event.listen(db.engine, "commit", tick)  # just before COMMIT
    event.listen(Session, "after_commit", tick)  # just after it (this child only)
    conn.send(("ready",))
    started = time.perf_counter()
    try:
        if op == "confirm":
            confirm_batch(db, args["batch"], TODAY, today=TODAY, operator="crash")
        elif op == "import":
            import_file(db, args["kind"], args["path"], operator="crash", today=TODAY)
        elif op == "backfill":
            from recall.services.backfill import apply_backfill

            apply_backfill(db, today=TODAY, operator="crash")
        elif op == "letters":
            render_batch_letters(
                db, args["batch"], args["out"], today=TODAY, operator="crash", pdf=False
            )
        else:
            raise ValueError(op)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("done", seen[0], time.perf_counter() - started))


def live_codes(db: Database) -> int:
    with db.read() as s:
        return int(
            s.execute(text("SELECT count(*) FROM recorded_code WHERE voided = false")).scalar_one()
        )
