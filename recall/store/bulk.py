"""Bulk writes for imports and the demo: one statement per chunk, never an object per row.

SQLite gets `INSERT OR IGNORE` through the driver's executemany; PostgreSQL gets COPY into a
temporary table, then one set-based `INSERT ... ON CONFLICT DO NOTHING`. Both report how many
rows were really added, which is how a re-import proves it added nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Rows = Sequence[Sequence[Any]]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _sqlite_rows(table: Table, columns: Sequence[str], rows: Rows) -> Iterable[Sequence[Any]]:
    """Dates as ISO text, the way SQLAlchemy's Date type stores them in SQLite."""
    date_cols = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, DateTime)]
    if not date_cols:
        return rows

    def convert(row: Sequence[Any]) -> tuple[Any, ...]:
        out = list(row)
        for i in date_cols:
            value = out[i]
            if isinstance(value, dt.datetime):
                out[i] = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return tuple(out)

    return [convert(r) for r in rows]


BULK_CACHE_KIB = 131_072  # SQLite page cache during a bulk load (default is about 2 MB)


@contextmanager
def bulk_load(session: Session) -> Iterator[None]:
    """Tune the connection for one large write transaction, and put it back afterwards.

    On SQLite a million-row import spends most of its time spilling index pages from the
    small default cache; a 128 MB cache for the transaction halves the time.
    """
    if _dialect(session) != "sqlite":
        yield
        return
    conn = session.connection()
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(previous or -2000)}")


def insert_ignore(session: Session, table: Table, columns: Sequence[str], rows: Rows) -> int:
    """Insert rows, silently skipping any that break a unique constraint; return rows added."""
    if not rows:
        return 0
    cols = ", ".join(columns)
    if _dialect(session) == "sqlite":
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT OR IGNORE INTO {table.name} ({cols}) VALUES ({marks})"
        result: Any = session.connection().exec_driver_sql(
            sql, list(_sqlite_rows(table, columns, rows))
        )
        return max(int(result.rowcount), 0)
    if _dialect(session) == "postgresql":
        return _pg_copy_insert(session, table, columns, rows)
    raise NotImplementedError(f"bulk insert on {_dialect(session)}")


def _pg_copy_insert(session: Session, table: Table, columns: Sequence[str], rows: Rows) -> int:
    raw: Any = session.connection().connection.driver_connection
    cols = ", ".join(columns)
    tmp = f"_bulk_{table.name}"
    with raw.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {tmp} ON COMMIT DROP AS "
            f"SELECT {cols} FROM {table.name} WITH NO DATA"
        )
        cur.execute(f"TRUNCATE {tmp}")
        with cur.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {tmp} ON CONFLICT DO NOTHING"
        )
        return max(int(cur.rowcount), 0)


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert rows, or update `update` columns where `conflict` columns already match."""
    if not rows:
        return
    pg = _dialect(session) == "postgresql"
    ins: Any = postgresql.insert(table) if pg else sqlite.insert(table)
    if update:
        stmt = ins.on_conflict_do_update(
            index_elements=list(conflict), set_={c: ins.excluded[c] for c in update}
        )
    else:
        stmt = ins.on_conflict_do_nothing(index_elements=list(conflict))
    session.execute(stmt, list(rows))


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Plain Core executemany (rows that must all be new, e.g. a fresh demo practice)."""
    if rows:
        session.execute(insert(table), list(rows))
