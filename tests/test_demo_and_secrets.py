"""`recall demo` never rebuilds real patients and keeps a copy first; no command prints a
database password. Real SQLite files, a real PostgreSQL server, the real CLI."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from recall.cli import main
from recall.services.demo import build_demo, demo_file_url
from recall.services.errors import Refused
from recall.services.imports import import_file
from recall.store.db import Database, sqlite_path
from recall.store.models import patient_t

REAL_FORMAT = (
    "nhs_number,family_name,given_name,date_of_birth\n"
    "9434765919,Able,Ann,1950-01-01\n"
    "9434765870,Baker,Bob,1951-02-02\n"
)


def _patients(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(patient_t)).scalar() or 0)


def _import_real(db: Database, tmp_path: Path) -> None:
    csv = tmp_path / "patients.csv"
    csv.write_text(REAL_FORMAT)
    import_file(db, "patients", csv)


def test_demo_refuses_a_demo_file_with_imported_patients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default demo file, with real-format patients imported into it: left alone."""
    args = ["demo", "--patients", "200", "--no-tui"]
    assert main(args) == 0
    url = demo_file_url()
    db = Database(url)
    try:
        _import_real(db, tmp_path)
        held = _patients(db)
    finally:
        db.dispose()
    capsys.readouterr()
    assert main(args) == 2
    assert "not demo data" in capsys.readouterr().err
    db = Database(url)
    try:
        assert _patients(db) == held == 202
    finally:
        db.dispose()
    path = sqlite_path(url)
    assert path is not None
    assert not list(path.parent.glob("*.before-demo-*"))  # refused before any copy


def test_demo_keeps_a_copy_before_every_rebuild(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["demo", "--patients", "150", "--no-tui", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["copy"] is None  # nothing to copy yet
    assert main(args) == 0
    copy = Path(json.loads(capsys.readouterr().out)["copy"])
    assert copy.is_file() and stat.S_IMODE(copy.stat().st_mode) == 0o600
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] == 150
    finally:
        conn.close()


def test_replace_refuses_imported_patients_and_copies_a_demo(db: Database, tmp_path: Path) -> None:
    build_demo(db, patients=120, seed=3)
    _import_real(db, tmp_path)
    with pytest.raises(Refused, match="not demo data"):
        build_demo(db, patients=50, seed=1, replace=True)
    assert _patients(db) == 122
    with db.write() as s:  # the imported patients leave: a demo again, so it may be rebuilt
        s.execute(patient_t.delete().where(~patient_t.c.nhs_number.startswith("999")))
    result = build_demo(db, patients=50, seed=1, replace=True)
    assert result.copy is not None and _patients(db) == 50
    copy = Path(result.copy)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    head = copy.read_bytes()[:16]
    if db.backend == "sqlite":
        assert head.startswith(b"SQLite format 3")
    else:
        assert head.startswith(b"PGDMP")  # a pg_dump archive made before the rebuild


# -- secrets ------------------------------------------------------------------------------


@pytest.mark.pg
def test_init_never_prints_the_password(
    db_url: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    u = make_url(db_url)
    if u.get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL URL carries the password")
    secret = "S3cr3t-pa55"
    with_password = u.set(password=secret).render_as_string(hide_password=False)
    caplog.set_level(logging.DEBUG)
    assert main(["init", "--db", with_password]) == 0
    assert main(["init", "--db", with_password, "--json"]) == 0
    assert main(["demo", "--patients", "20", "--no-tui", "--db", with_password]) == 0
    out = capsys.readouterr()
    assert secret not in out.out + out.err and "***" in out.out
    assert secret not in caplog.text
    unreachable = u.set(password=secret, port=1).render_as_string(hide_password=False)
    assert main(["init", "--db", unreachable]) != 0
    out = capsys.readouterr()
    assert secret not in out.out + out.err
