"""`recall backup` / `recall restore`: consistent private copies; refuses what isn't ours."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from recall.cli import main
from recall.outputs import MANIFEST
from recall.services.audit import list_audit
from recall.services.errors import Refused
from recall.services.infra.backup import UseServerTools, backup_database, restore_database
from recall.store.audit_repo import append_audit
from recall.store.db import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _practices(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.execute(text("SELECT ods_code FROM practice ORDER BY id")).scalars())


def _add_practice(db: Database, ods: str) -> None:
    with db.write() as s:
        s.execute(text("INSERT INTO practice (ods_code, name) VALUES (:o, '')"), {"o": ods})


def test_backup_and_restore_round_trip(sqlite_db: Database, tmp_path: Path) -> None:
    _add_practice(sqlite_db, "A11111")
    copy = tmp_path / "out" / "monday.recall"
    result = backup_database(sqlite_db, copy, operator="alice")
    assert result.bytes == copy.stat().st_size > 0
    assert _mode(copy) == 0o600
    left = [p.name for p in copy.parent.iterdir() if p.name.startswith(".")]
    assert left == [MANIFEST]  # no temp file left

    _add_practice(sqlite_db, "B22222")  # work done after the backup
    restored = restore_database(sqlite_db, copy, operator="bob")
    assert restored.safety_copy is not None and restored.safety_copy.exists()
    assert _mode(restored.safety_copy) == 0o600

    db = Database(sqlite_db.url)
    assert _practices(db) == ["A11111"]
    # the restore is recorded in what came back (the backup entry was written after the copy)
    assert [(e.action, e.operator) for e in list_audit(db)] == [("restore", "bob")]
    safety = Database(f"sqlite:///{restored.safety_copy}")
    assert _practices(safety) == ["A11111", "B22222"]  # nothing lost: the old one is kept
    assert [e.action for e in list_audit(safety)] == ["backup"]
    safety.dispose()
    db.dispose()
    assert _mode(Path(sqlite_db.url.removeprefix("sqlite:///"))) == 0o600


def test_backup_refuses_existing_file(sqlite_db: Database, tmp_path: Path) -> None:
    target = tmp_path / "exists.db"
    target.write_text("keep me")
    with pytest.raises(Refused, match="already exists"):
        backup_database(sqlite_db, target)
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("kind", ["text", "empty", "foreign_sqlite", "truncated"])
def test_restore_refuses_what_is_not_a_recall_database(
    sqlite_db: Database, tmp_path: Path, kind: str
) -> None:
    _add_practice(sqlite_db, "A11111")
    bad = tmp_path / f"bad_{kind}.db"
    if kind == "text":
        bad.write_text("nhs_number,family_name\n")
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "foreign_sqlite":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE patient (id INTEGER)")
        conn.commit()
        conn.close()
    else:
        good = tmp_path / "good.db"
        backup_database(sqlite_db, good)
        bad.write_bytes(good.read_bytes()[:5000])
    before = sorted(p.name for p in tmp_path.iterdir() if "-" not in p.name)
    with pytest.raises(Refused, match="not restored"):
        restore_database(sqlite_db, bad)
    after = sorted(p.name for p in tmp_path.iterdir() if "-" not in p.name)
    assert after == before  # no safety copy, no change
    assert _practices(Database(sqlite_db.url)) == ["A11111"]


def test_backup_is_consistent_while_another_terminal_writes(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Writes of 20 rows each in one transaction: a backup holds whole transactions only."""
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            with sqlite_db.write() as s:
                for _ in range(20):
                    append_audit(s, operator="w", action="tick", details={"n": n})
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = []
        for i in range(5):
            copy = tmp_path / f"copy{i}.db"
            backup_database(sqlite_db, copy, operator="b")
            copies.append(copy)
    finally:
        stop.set()
        thread.join()
    for copy in copies:
        conn = sqlite3.connect(copy)
        ticks = conn.execute("SELECT count(*) FROM audit_log WHERE action='tick'").fetchone()[0]
        conn.close()
        assert ticks % 20 == 0


def test_cli_backup_restore(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_db.url
    _add_practice(sqlite_db, "A11111")
    sqlite_db.dispose()
    copy = tmp_path / "b.db"
    assert main(["backup", str(copy), "--db", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(copy)
    assert main(["backup", str(copy), "--db", url]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["restore", str(copy), "--db", url]) == 0
    out = capsys.readouterr().out
    assert "Restored" in out and "previous database was kept" in out
    not_db = tmp_path / "x.csv"
    not_db.write_text("a,b\n")
    assert main(["restore", str(not_db), "--db", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recall: not restored") and len(err.strip().splitlines()) == 1


def test_postgresql_points_to_server_tools(
    db: Database, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if db.backend != "postgresql":
        pytest.skip("PostgreSQL behaviour")
    with pytest.raises(UseServerTools, match="pg_dump"):
        backup_database(db, tmp_path / "x.dump")
    db.dispose()
    assert main(["backup", str(tmp_path / "x.dump"), "--db", db_url]) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "x.dump"), "--db", db_url]) == 2
    assert "pg_restore" in capsys.readouterr().err
    assert not (tmp_path / "x.dump").exists()
