"""Bulk helpers on both backends: rows added are counted, duplicates skipped, dates intact."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from recall.store.bulk import bulk_load, insert_ignore, insert_many, upsert
from recall.store.db import Database
from recall.store.models import event_t, patient_t, register_t
from recall.store.practice_repo import get_or_create_practice


def _patients(db: Database) -> list[int]:
    with db.write() as s:
        practice = get_or_create_practice(s)
        insert_many(
            s,
            patient_t,
            [
                {
                    "practice_id": practice.id,
                    "nhs_number": nhs,
                    "family_name": "O'Brien & <Sons>",
                    "given_name": "Siân",
                    "date_of_birth": dt.date(1950, 1, 1),
                    "communication_needs": "",
                }
                for nhs in ("9434765919", "9876543210")
            ],
        )
        return [pid for (pid,) in s.execute(select(patient_t.c.id).order_by(patient_t.c.id))]


def test_insert_ignore_counts_and_keeps_dates(db: Database) -> None:
    a, b = _patients(db)
    cols = ("patient_id", "date", "code", "term", "code_system")
    rows = [
        (a, dt.date(2026, 5, 1), "XabEf", "first", "ctv3"),
        (a, "2026-05-02", "XabEh", None, "ctv3"),  # ISO text is accepted too
        (b, dt.date(2026, 5, 1), "XabEf", "first", "ctv3"),
    ]
    with db.write() as s, bulk_load(s):
        assert insert_ignore(s, event_t, cols, rows) == 3
        assert (
            insert_ignore(s, event_t, cols, [*rows, (b, dt.date(2026, 6, 1), "Y1f8f", "", "ctv3")])
            == 1
        )
        assert insert_ignore(s, event_t, cols, []) == 0
    with db.read() as s:
        dates = sorted(d for (d,) in s.execute(select(event_t.c.date)))
    assert dates[0] == dt.date(2026, 5, 1) and dt.date(2026, 5, 2) in dates and len(dates) == 4


def test_upsert_updates_only_named_columns(db: Database) -> None:
    a, _ = _patients(db)
    with db.write() as s:
        upsert(
            s,
            register_t,
            [{"patient_id": a, "condition": "HYP", "diagnosed_on": dt.date(2010, 1, 1)}],
            conflict=("patient_id", "condition"),
            update=["diagnosed_on"],
        )
        upsert(
            s,
            register_t,
            [{"patient_id": a, "condition": "HYP", "diagnosed_on": dt.date(2011, 1, 1)}],
            conflict=("patient_id", "condition"),
            update=["diagnosed_on"],
        )
        upsert(
            s,
            register_t,
            [{"patient_id": a, "condition": "HYP", "diagnosed_on": dt.date(2012, 1, 1)}],
            conflict=("patient_id", "condition"),
            update=[],
        )
    with db.read() as s:
        rows = s.execute(select(register_t.c.condition, register_t.c.diagnosed_on)).all()
    assert [tuple(r) for r in rows] == [("HYP", dt.date(2011, 1, 1))]
