"""Depression (and cancer) from QOF year 2025/26: invited as good care, but no QOF invite code
is recorded, nothing is "could not be coded", PCA does not apply, backfill plans no code for
them, and each condition's stages still move on. 2024/25 still records and backfills them.
Each runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from engine_seed import HYP, STAGE, Seeder
from sqlalchemy import select

from recall.services.backfill import plan_backfill
from recall.services.batches import confirm_batch, plan_batch
from recall.services.batches.codes import preview_codes
from recall.services.pca_report import pca_report
from recall.services.views.year_view import year_dashboard
from recall.services.worksheet import worksheet_rows
from recall.store.db import Database
from recall.store.models import event_t, recorded_code_t

D = dt.date
TODAY = D(2026, 11, 27)
DEPR = "1110911000000106"  # DEPRINVITE_COD, the depression QOF invitation code


def codes(db: Database, pid: int) -> set[tuple[str, D]]:
    r = recorded_code_t
    with db.read() as s:
        return {
            (c, d)
            for c, d in s.execute(
                select(r.c.code, r.c.date).where(r.c.patient_id == pid, r.c.voided.is_(False))
            )
        }


def test_depression_is_invited_without_a_qof_code_from_2025(db: Database) -> None:
    seed = Seeder(db)
    both, _ = seed.patient(conditions=("HYP", "DEPR"))
    alone, _ = seed.patient(conditions=("DEPR",), given="Dee")
    first = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    stages = {i.patient_id: dict(i.condition_stages) for i in first.invitations}
    assert stages == {both: {"HYP": 1, "DEPR": 1}, alone: {"DEPR": 1}}
    rows, missing = preview_codes(db, first.batch.id)
    assert DEPR not in {r["code"] for r in rows} and not missing
    confirm_batch(db, first.batch.id, today=TODAY)
    day1 = D(2026, 11, 2)
    assert codes(db, both) == {(STAGE[1], day1), (HYP, day1)}
    assert codes(db, alone) == {(STAGE[1], day1)}
    sheet = worksheet_rows(db, batch_id=first.batch.id)
    assert DEPR not in {r.code for r in sheet} and "DEPR" not in {r.condition for r in sheet}

    # the letter moved depression on to its 2nd invitation, though no code says so
    second = plan_batch(db, 2, "2026-11", D(2026, 11, 20), today=D(2026, 11, 20))
    stages = {i.patient_id: dict(i.condition_stages) for i in second.invitations}
    assert stages == {both: {"HYP": 2, "DEPR": 2}, alone: {"DEPR": 2}}
    confirm_batch(db, second.batch.id, today=D(2026, 11, 20))
    assert (DEPR, D(2026, 11, 20)) not in codes(db, both)

    report = pca_report(db, TODAY)
    depr = report.conditions["DEPR"]
    assert not depr.pca_applies and "PCA does not apply" in depr.qof_note
    assert depr.counts["generic_only"] == 0 and depr.need_second_by_year_end == 0
    assert report.conditions["HYP"].counts["pca_eligible"] == 1
    row = next(r for r in year_dashboard(db, TODAY).rows if r.key == "DEPR")
    assert "no QOF code is needed" in row.qof_note
    plan = plan_backfill(db, today=TODAY)
    assert "DEPR" not in {i.condition for i in plan.items}
    assert "DEPR" not in {b.condition for b in plan.blocked}


def test_backfill_still_codes_depression_in_2024_25_but_not_after(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP", "DEPR"))
    old, new = D(2024, 11, 5), D(2025, 11, 5)
    with db.write() as s:
        s.execute(
            event_t.insert(),
            [
                {"patient_id": pid, "date": old, "code": STAGE[1], "code_system": "ctv3"},
                {"patient_id": pid, "date": new, "code": STAGE[1], "code_system": "ctv3"},
            ],
        )
    last_year = plan_backfill(db, D(2024, 4, 1), D(2025, 3, 31), today=TODAY)
    assert {(i.condition, i.date) for i in last_year.items} == {("HYP", old), ("DEPR", old)}
    this_year = plan_backfill(db, D(2025, 4, 1), D(2026, 3, 31), today=TODAY)
    assert {(i.condition, i.date) for i in this_year.items} == {("HYP", new)}
