"""Shared fixtures: a real database per test, on SQLite and (when reachable) PostgreSQL.

Set RECALL_TEST_BACKENDS=sqlite or =pg to run one backend only; by default tests that take
the `db` fixture run on SQLite and again on PostgreSQL when the server answers (or when
RECALL_TEST_PG_URL names one). When PostgreSQL is not reachable those runs are skipped with
the reason shown.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recall.domain.pca import PcaResult
from recall.services.catalogue import load_catalogue
from recall.services.demo import build_demo
from recall.services.history import pca_for_session
from recall.store.db import Database
from recall.store.practice_repo import get_or_create_practice

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_pg_state: dict[str, object] = {}


def pg_admin_url() -> str:
    return os.environ.get("RECALL_TEST_PG_URL", PG_DEFAULT)


def pg_available() -> tuple[bool, str]:
    """Whether the PostgreSQL server answers (checked once per session)."""
    if "ok" not in _pg_state:
        try:
            eng = create_engine(pg_admin_url(), connect_args={"connect_timeout": 3})
            with eng.connect() as conn:
                conn.execute(text("select 1"))
            eng.dispose()
            _pg_state["ok"], _pg_state["why"] = True, ""
        except Exception as exc:  # any failure means "not available", shown as the skip reason
            _pg_state["ok"] = False
            _pg_state["why"] = f"PostgreSQL not reachable at {pg_admin_url()}: {type(exc).__name__}"
    return bool(_pg_state["ok"]), str(_pg_state["why"])


def _backends() -> list[str]:
    wanted = os.environ.get("RECALL_TEST_BACKENDS", "sqlite,pg")
    return [b.strip() for b in wanted.split(",") if b.strip()]


def _pg_template() -> str:
    """A migrated template database, made once per test session; tests clone it."""
    if "template" not in _pg_state:
        admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        name = f"recall_tmpl_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)
        Database(url).dispose()
        _pg_state["template"] = name
    return str(_pg_state["template"])


def new_pg_database(*, migrated: bool = True) -> str:
    """A fresh PostgreSQL database for one test (migrated unless told); dropped at session end."""
    template = _pg_template() if migrated else "template0"
    name = f"recall_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    created = _pg_state.setdefault("created", [])
    assert isinstance(created, list)
    created.append(name)
    return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this process's PostgreSQL databases, then leave nothing slow for after.

    Under xdist a worker reports "finished" right after this hook; the main process then
    closes it and, if the worker is still busy 5 seconds later, execnet interrupts it with
    SIGINT. pytest's own clean-up after that point runs five full garbage collections, which
    on a loaded machine with a worker's whole heap took longer than that: the interrupt
    landed inside a finaliser (often hypothesis's) and printed a KeyboardInterrupt
    "exception ignored" traceback at the end of the run. Collecting here, while the main
    process still waits, and freezing what survives makes those later passes quick.
    """
    names = list(_pg_state.get("created", []))  # type: ignore[call-overload]
    if "template" in _pg_state:
        names.append(_pg_state["template"])
    if names:
        admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    gc.collect()  # finalisers run now, inside the session, where their errors are reported
    gc.freeze()  # the survivors live until exit: later collections skip them


@pytest.fixture(params=["sqlite", "pg"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty, migrated database on each backend."""
    backend = request.param
    if backend not in _backends():
        pytest.skip(f"backend {backend} not selected (RECALL_TEST_BACKENDS)")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'recall.db'}"
    ok, why = pg_available()
    if not ok:
        pytest.skip(why)
    return new_pg_database()


@pytest.fixture(params=["sqlite", "pg"])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty database with no schema at all, on each backend (migration tests)."""
    backend = request.param
    if backend not in _backends():
        pytest.skip(f"backend {backend} not selected (RECALL_TEST_BACKENDS)")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    ok, why = pg_available()
    if not ok:
        pytest.skip(why)
    return new_pg_database(migrated=False)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """SQLite only, for tests about file handling."""
    database = Database(f"sqlite:///{tmp_path / 'recall.db'}")
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the user's real data folder and database out of every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))  # the log folder lives here
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("RECALL_LOG_DIR", raising=False)
    monkeypatch.delenv("RECALL_LOG_LEVEL", raising=False)
    monkeypatch.delenv("RECALL_DATABASE_URL", raising=False)
    monkeypatch.setenv("RECALL_OPERATOR", "test-operator")


def pca_statuses(
    db: Database, as_of: dt.date, patient_ids: Collection[int] | None = None
) -> dict[tuple[int, str], PcaResult]:
    """PCA result per (patient id, condition) for the QOF year containing `as_of`."""
    with db.read() as session:
        pid = get_or_create_practice(session).id
        assert pid is not None
        return pca_for_session(
            session,
            practice_id=pid,
            catalogue=load_catalogue(session, pid),
            as_of=as_of,
            patient_ids=patient_ids,
        )


DEMO_TODAY = dt.date(2026, 11, 27)
DEMO_PATIENTS = 2000


@pytest.fixture(scope="session", name="demo_template")
def demo_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo practice per test session (2,000 patients, as of 2026-11-27), copied per test."""
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.db"
    db = Database(f"sqlite:///{path}")
    build_demo(db, patients=DEMO_PATIENTS, today=DEMO_TODAY, operator="test-operator")
    db.dispose()
    return path


@pytest.fixture(name="demo_url")
def demo_url_fixture(demo_template: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the demo database for one test (a real SQLite file)."""
    target = tmp_path / "recall.db"
    shutil.copyfile(demo_template, target)
    target.chmod(0o600)
    yield f"sqlite:///{target}"


def new_id(result: object) -> int:
    """The primary key an INSERT made (typed for mypy: execute() returns a plain Result)."""
    return int(cast(Any, result).inserted_primary_key[0])
