"""Opening the database: SQLite by default (WAL, foreign keys), PostgreSQL by URL.

Write transactions on SQLite start with BEGIN IMMEDIATE so two terminals confirming at once
queue up instead of failing half-way; PostgreSQL relies on its row locks and the unique indexes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from recall.store.environment import environment


class DatabaseError(RuntimeError):
    """A database problem worded for staff (no SQL, no patient data)."""


def default_url() -> str:
    """The URL in RECALL_DATABASE_URL, else a SQLite file in the user's data folder."""
    env = environment().database_url
    if env:
        return env
    folder = Path(platformdirs.user_data_dir("recall", appauthor=False))
    return f"sqlite:///{folder / 'recall.db'}"


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _prepare_sqlite_file(path: Path) -> None:
    """Create the folder 0700 and the file 0600: the database holds patient data."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    else:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)


def make_engine(url: str) -> Engine:
    """An engine with the project's connection settings for either backend."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            _prepare_sqlite_file(path)
        engine = create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            hide_parameters=True,  # errors never echo patient data (names, NHS numbers)
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        return create_engine(u, pool_pre_ping=True, hide_parameters=True)
    raise DatabaseError(f"unsupported database type {backend!r}: use sqlite:/// or postgresql://")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("recall_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One engine plus session factories for reading and for atomic writes."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_url()
        self.engine = make_engine(self.url)
        self._write_engine = self.engine.execution_options(recall_write=True)
        if migrate:
            from sqlalchemy.exc import OperationalError

            from recall.store.migrate import upgrade

            try:
                upgrade(self.engine)
            except OperationalError as exc:
                where = make_url(self.url).render_as_string(hide_password=True)
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
                raise DatabaseError(f"cannot open the database {where}: {reason}") from None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; rolled back at the end."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One atomic transaction: committed on success, rolled back on any error."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
