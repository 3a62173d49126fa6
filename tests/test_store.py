"""The schema applies on both backends and enforces its invariants in the database."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from conftest import new_id
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from recall.store.db import Database
from recall.store.migrate import current_revision, head_revision
from recall.store.models import (
    batch_t,
    invitation_condition_t,
    invitation_t,
    patient_t,
    recorded_code_t,
)
from recall.store.practice_repo import get_or_create_practice

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def _patient(db: Database) -> tuple[int, int]:
    with db.write() as s:
        practice = get_or_create_practice(s)
        pid = new_id(
            s.execute(
                insert(patient_t).values(
                    practice_id=practice.id,
                    nhs_number="9434765919",
                    family_name="O'Brien",
                    given_name="Siân",
                    date_of_birth=dt.date(1950, 11, 3),
                    communication_needs="",
                )
            )
        )
        bid = new_id(
            s.execute(
                insert(batch_t).values(
                    practice_id=practice.id,
                    stage=1,
                    cohort_month="2026-11",
                    qof_year=2026,
                    planned_send_date=dt.date(2026, 11, 27),
                    created_at=NOW,
                    status="planned",
                    kind="monthly",
                    created_by="t",
                )
            )
        )
    return pid, bid


def test_migrated_to_head(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()


def test_one_live_invitation_per_patient_condition_stage_year(db: Database) -> None:
    """Progress is per patient x condition: the database refuses a second live 1st HYP
    invitation, but allows the same patient a 1st DM invitation in another batch."""
    pid, bid = _patient(db)
    row = dict(
        batch_id=bid,
        patient_id=pid,
        practice_id=1,
        stage=1,
        qof_year=2026,
        conditions="HYP",
        status="planned",
    )
    with db.write() as s:
        iid = new_id(s.execute(insert(invitation_t).values(**row)))
        cond = dict(
            invitation_id=iid,
            patient_id=pid,
            practice_id=1,
            condition="HYP",
            stage=1,
            qof_year=2026,
        )
        s.execute(insert(invitation_condition_t).values(**cond, live=True))
    with db.write() as s:
        bid2 = new_id(
            s.execute(
                insert(batch_t).values(
                    practice_id=1,
                    stage=1,
                    cohort_month="2026-12",
                    qof_year=2026,
                    planned_send_date=dt.date(2026, 12, 1),
                    created_at=NOW,
                    status="planned",
                    kind="monthly",
                    created_by="t",
                )
            )
        )
        iid2 = new_id(
            s.execute(insert(invitation_t).values(**{**row, "batch_id": bid2, "conditions": "DM"}))
        )
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(insert(invitation_condition_t).values(**{**cond, "invitation_id": iid2}))
    with db.write() as s:  # another condition, or a row that is not live, is fine
        s.execute(
            insert(invitation_condition_t).values(
                **{**cond, "invitation_id": iid2, "condition": "DM"}, live=True
            )
        )
        s.execute(
            insert(invitation_condition_t).values(**{**cond, "invitation_id": iid2}, live=False)
        )


def test_live_recorded_code_unique_on_patient_code_date(db: Database) -> None:
    pid, _ = _patient(db)
    row = dict(
        patient_id=pid,
        practice_id=1,
        code="1110941000000107",
        date=dt.date(2026, 11, 27),
        origin="send",
        created_at=NOW,
        voided=False,
    )
    with db.write() as s:
        s.execute(insert(recorded_code_t).values(**row))
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(insert(recorded_code_t).values(**row))
    with db.write() as s:
        s.execute(insert(recorded_code_t).values(**{**row, "voided": True}))


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "recall.db"
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
