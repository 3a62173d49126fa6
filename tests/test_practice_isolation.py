"""The database itself keeps practices apart: an invitation, invited condition or recorded code
that points at another practice's patient, batch, invitation or backfill run is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import new_id
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from recall.store.db import Database
from recall.store.migrate import current_revision, head_revision, upgrade
from recall.store.models import (
    backfill_run_t,
    batch_t,
    invitation_condition_t,
    invitation_t,
    patient_t,
    practice_t,
    recorded_code_t,
)

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 27)


def _practice(db: Database, ods: str, nhs: str) -> dict[str, int]:
    """A practice with one patient, one planned batch, the patient's invitation in it and a
    backfill run: the ids, by table."""
    with db.write() as s:
        practice = new_id(s.execute(insert(practice_t).values(ods_code=ods, name=ods)))
        patient = new_id(
            s.execute(
                insert(patient_t).values(
                    practice_id=practice,
                    nhs_number=nhs,
                    family_name="Smith",
                    given_name="Ann",
                    date_of_birth=dt.date(1950, 11, 3),
                    communication_needs="",
                )
            )
        )
        batch = new_id(
            s.execute(
                insert(batch_t).values(
                    practice_id=practice,
                    stage=1,
                    cohort_month="2026-11",
                    qof_year=2026,
                    planned_send_date=DAY,
                    created_at=NOW,
                    created_by="t",
                )
            )
        )
        invitation = new_id(
            s.execute(insert(invitation_t).values(**_invitation(batch, patient, practice)))
        )
        run = new_id(
            s.execute(
                insert(backfill_run_t).values(
                    practice_id=practice, date_from=DAY, date_to=DAY, at=NOW
                )
            )
        )
    return {
        "practice": practice,
        "patient": patient,
        "batch": batch,
        "invitation": invitation,
        "run": run,
    }


def _invitation(batch: int, patient: int, practice: int) -> dict[str, Any]:
    return dict(
        batch_id=batch,
        patient_id=patient,
        practice_id=practice,
        stage=1,
        qof_year=2026,
        conditions="HYP",
        status="planned",
    )


def _code(patient: int, practice: int, **links: int) -> dict[str, Any]:
    return dict(
        patient_id=patient,
        practice_id=practice,
        code="1110941000000107",
        date=DAY,
        origin="send",
        created_at=NOW,
        **links,
    )


def _refused(db: Database, table: Any, row: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(insert(table).values(**row))


def test_rows_that_cross_practices_are_refused(db: Database) -> None:
    a = _practice(db, "B86001", "9434765919")
    b = _practice(db, "A81002", "4010232137")
    # A's batch with B's patient, under either practice's id
    _refused(db, invitation_t, _invitation(a["batch"], b["patient"], a["practice"]))
    _refused(db, invitation_t, _invitation(a["batch"], b["patient"], b["practice"]))
    # a condition row of A's invitation for B's patient
    cond = dict(condition="HYP", stage=1, qof_year=2026, live=False)
    _refused(
        db,
        invitation_condition_t,
        dict(
            invitation_id=a["invitation"],
            patient_id=b["patient"],
            practice_id=a["practice"],
            **cond,
        ),
    )
    # codes: B's patient in A's batch, A's invitation or A's backfill run
    _refused(db, recorded_code_t, _code(b["patient"], b["practice"], batch_id=a["batch"]))
    _refused(db, recorded_code_t, _code(b["patient"], a["practice"], batch_id=a["batch"]))
    _refused(db, recorded_code_t, _code(b["patient"], b["practice"], invitation_id=a["invitation"]))
    _refused(db, recorded_code_t, _code(b["patient"], b["practice"], backfill_run_id=a["run"]))
    # a row of one practice inside that practice is fine
    with db.write() as s:
        s.execute(
            insert(recorded_code_t).values(
                **_code(
                    a["patient"], a["practice"], batch_id=a["batch"], invitation_id=a["invitation"]
                )
            )
        )
        s.execute(
            insert(invitation_condition_t).values(
                invitation_id=b["invitation"],
                patient_id=b["patient"],
                practice_id=b["practice"],
                **cond,
            )
        )
    # and a batch or patient cannot be moved to another practice under its rows
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(
            text("UPDATE batch SET practice_id = :p WHERE id = :b"),
            {"p": b["practice"], "b": a["batch"]},
        )


def test_upgrade_from_0004_gives_each_row_its_practice(blank_db_url: str) -> None:
    """A populated 0004 database with two practices: each invitation, invited condition and
    recorded code gets its own practice, and afterwards nothing can cross."""
    database = Database(blank_db_url, migrate=False)
    try:
        upgrade(database.engine, "0004")
        with database.engine.begin() as conn:
            for n, (ods, nhs) in enumerate((("B86001", "9434765919"), ("A81002", "4010232137")), 1):
                conn.execute(
                    text("INSERT INTO practice (id, ods_code, name) VALUES (:i, :o, 'P')"),
                    {"i": n, "o": ods},
                )
                conn.execute(
                    text(
                        "INSERT INTO patient (id, practice_id, nhs_number, family_name, given_name,"
                        " date_of_birth, communication_needs)"
                        " VALUES (:i, :i, :n, 'S', 'A', '1950-11-03', '')"
                    ),
                    {"i": n, "n": nhs},
                )
                conn.execute(
                    text(
                        "INSERT INTO batch (id, practice_id, kind, stage, cohort_month, qof_year,"
                        " planned_send_date, status, created_at, created_by)"
                        " VALUES (:i, :i, 'monthly', 1, '2026-11', 2026, '2026-11-20', 'sent',"
                        " :t, 'x')"
                    ),
                    {"i": n, "t": NOW},
                )
                conn.execute(
                    text(
                        "INSERT INTO invitation (id, batch_id, patient_id, stage, qof_year,"
                        " conditions, channel, status, staff_excluded)"
                        " VALUES (:i, :i, :i, 1, 2026, 'HYP', 'letter', 'sent', false)"
                    ),
                    {"i": n},
                )
                conn.execute(
                    text(
                        "INSERT INTO invitation_condition (invitation_id, patient_id, condition,"
                        " stage, qof_year, live) VALUES (:i, :i, 'HYP', 1, 2026, true)"
                    ),
                    {"i": n},
                )
                conn.execute(
                    text(
                        "INSERT INTO recorded_code (patient_id, code, term, date, origin,"
                        " invitation_id, batch_id, reconciled, voided, created_at)"
                        " VALUES (:i, 'X', '', '2026-11-20', 'send', :i, :i, false, false, :t)"
                    ),
                    {"i": n, "t": NOW},
                )
        upgrade(database.engine)
        assert current_revision(database.engine) == head_revision()
        with database.engine.connect() as conn:
            for table in ("invitation", "invitation_condition", "recorded_code"):
                got = conn.execute(text(f"SELECT patient_id, practice_id FROM {table} ORDER BY 1"))
                assert [tuple(r) for r in got] == [(1, 1), (2, 2)], table
        database.dispose()
        reopened = Database(blank_db_url)
        try:
            _refused(reopened, recorded_code_t, _code(2, 2, batch_id=1))
            _refused(reopened, invitation_t, {**_invitation(1, 2, 1), "id": 9})
        finally:
            reopened.dispose()
    finally:
        database.dispose()


def test_audit_entry_about_a_batch_names_its_practice(db: Database) -> None:
    """An entry naming one practice's batch under another practice is refused; one that names
    only the batch is given the batch's practice."""
    from recall.store.audit_repo import append_audit
    from recall.store.models import audit_log_t

    a = _practice(db, "B86001", "9434765919")
    b = _practice(db, "A81002", "4010232137")
    with pytest.raises(IntegrityError), db.write() as s:
        append_audit(
            s, operator="t", action="x.test", practice_id=b["practice"], batch_id=a["batch"]
        )
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(
            insert(audit_log_t).values(at=NOW, operator="t", action="x.test", batch_id=a["batch"])
        )
    with db.write() as s:
        append_audit(s, operator="t", action="x.ok", batch_id=a["batch"])
        append_audit(s, operator="t", action="x.ok", practice_id=b["practice"], batch_id=b["batch"])
    with db.read() as s:
        got = s.execute(
            text("SELECT batch_id, practice_id FROM audit_log WHERE action = 'x.ok' ORDER BY id")
        )
        assert [tuple(r) for r in got] == [(a["batch"], a["practice"]), (b["batch"], b["practice"])]
