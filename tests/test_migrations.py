"""Upgrading a database made by the first schema revision keeps every row of every table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine

from recall.store.db import Database
from recall.store.migrate import current_revision, head_revision, upgrade

FIRST = "0001"
ROWS_PER_TABLE = 2
NHS = ["9434765919", "4010232137"]


def _value(table: Table, column: Any, i: int) -> Any:
    """A deterministic value for row i that satisfies the column's type and constraints."""
    if column.foreign_keys:
        return i + 1  # row i+1 of the referenced table (fresh database: ids 1, 2, ...)
    if column.name == "nhs_number":
        return NHS[i]
    kind = column.type
    if isinstance(kind, Boolean):
        return bool(i % 2)
    if isinstance(kind, Integer):
        return 3 + i
    if isinstance(kind, DateTime):
        return dt.datetime(2026, 11, 27, 9, i, tzinfo=dt.UTC)
    if isinstance(kind, Date):
        return dt.date(2026, 4, 1) + dt.timedelta(days=i)
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None)
        if length is None:
            return f"Siân O'Brien-Łukasz & <{table.name}.{column.name}> #{i}"
        return f"{column.name[:4]}{i}"[:length]
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({kind!r})")


def _fill_every_table(engine: Engine) -> tuple[MetaData, dict[str, list[tuple[Any, ...]]]]:
    meta = MetaData()
    meta.reflect(engine)
    tables = [t for t in meta.sorted_tables if t.name != "alembic_version"]
    assert len(tables) >= 12, [t.name for t in tables]
    with engine.begin() as conn:
        for table in tables:
            rows = []
            for i in range(ROWS_PER_TABLE):
                row = {}
                for column in table.columns:
                    if (
                        column.primary_key
                        and isinstance(column.type, Integer)
                        and (not column.foreign_keys)
                    ):
                        continue  # the database numbers it
                    row[column.name] = _value(table, column, i)
                rows.append(row)
            conn.execute(insert(table), rows)
    return meta, _snapshot(engine, meta)


def _snapshot(engine: Engine, meta: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return out


def test_upgrade_from_first_revision_keeps_all_data(blank_db_url: str) -> None:
    database = Database(blank_db_url, migrate=False)
    try:
        upgrade(database.engine, FIRST)
        assert current_revision(database.engine) == FIRST
        meta, before = _fill_every_table(database.engine)
        assert all(len(rows) == ROWS_PER_TABLE for rows in before.values()), before

        upgrade(database.engine)
        assert current_revision(database.engine) == head_revision()
        after = _snapshot(database.engine, meta)  # the columns revision 0001 had
        assert after == before

        # the upgraded database is usable: the app opens it and new rows append after the old
        database.dispose()
        reopened = Database(blank_db_url)
        with reopened.write() as s:
            s.execute(text("INSERT INTO practice (ods_code, name) VALUES ('Z99999', 'new')"))
        with reopened.read() as s:
            ids = s.execute(text("SELECT id FROM practice ORDER BY id")).scalars().all()
        assert ids == [1, 2, 3]
        reopened.dispose()
    finally:
        database.dispose()


def test_upgrade_is_idempotent(blank_db_url: str) -> None:
    first = Database(blank_db_url)
    first.dispose()
    second = Database(blank_db_url)  # migrating an up-to-date database changes nothing
    assert current_revision(second.engine) == head_revision()
    second.dispose()


def test_upgrade_from_0002_splits_packed_reasons_and_keeps_progress(blank_db_url: str) -> None:
    """A populated 0002 database: staff exclusions, flags and warnings packed into `reason`
    become columns, and every live invitation's conditions become per-condition rows."""
    database = Database(blank_db_url, migrate=False)
    try:
        upgrade(database.engine, "0002")
        now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO practice (ods_code, name) VALUES ('A1', 'P')"))
            for nhs in NHS:
                conn.execute(
                    text(
                        "INSERT INTO patient (practice_id, nhs_number, family_name, given_name,"
                        " date_of_birth, communication_needs)"
                        " VALUES (1, :n, 'S', 'A', '1950-11-03', '')"
                    ),
                    {"n": nhs},
                )
            conn.execute(
                text(
                    "INSERT INTO batch (practice_id, kind, stage, cohort_month, qof_year,"
                    " planned_send_date, status, created_at, created_by)"
                    " VALUES (1, 'monthly', 1, '2026-11', 2026, '2026-11-20', 'sent', :t, 'x')"
                ),
                {"t": now},
            )
            rows = [
                (1, "HYP,DM", "sent", "flags:late_in_year,no_letter|warning:HYP: exactly 7 days"),
                (2, "", "excluded", "staff: moved away"),
            ]
            for pid, conds, status, reason in rows:
                conn.execute(
                    text(
                        "INSERT INTO invitation (batch_id, patient_id, stage, qof_year,"
                        " conditions, channel, status, reason)"
                        " VALUES (1, :p, 1, 2026, :c, 'letter', :s, :r)"
                    ),
                    {"p": pid, "c": conds, "s": status, "r": reason},
                )
        upgrade(database.engine)
        with database.engine.connect() as conn:
            got = conn.execute(
                text(
                    "SELECT patient_id, reason, staff_excluded, flags, warning FROM invitation"
                    " ORDER BY patient_id"
                )
            ).all()
            cond_rows = conn.execute(
                text(
                    "SELECT patient_id, condition, stage, qof_year, live"
                    " FROM invitation_condition ORDER BY condition"
                )
            ).all()
        assert [tuple(r) for r in got] == [
            (1, None, False, "late_in_year,no_letter", "HYP: exactly 7 days"),
            (2, "moved away", True, None, None),
        ]
        assert [tuple(r) for r in cond_rows] == [
            (1, "DM", 1, 2026, True),
            (1, "HYP", 1, 2026, True),
        ]
    finally:
        database.dispose()
