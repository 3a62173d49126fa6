"""SQLite backup and restore through the online backup API (safe while others are connected).

Copies are made page by page by SQLite itself, so a backup taken while another terminal writes
is a consistent snapshot, and a restore goes through SQLite's locks instead of replacing a file
under a live connection. A copy is written through `recall.outputs` (temp file, fsync, put in
place only if nothing is at that name): 0600, never over an existing file or through a link.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from alembic.script import ScriptDirectory

from recall.outputs import OutputSet, Protected
from recall.store.migrate import alembic_config

SQLITE_MAGIC = b"SQLite format 3\x00"
REQUIRED_TABLES = frozenset({"alembic_version", "patient", "batch", "invitation", "audit_log"})


class NotARecallDatabase(ValueError):
    """The file is not a SQLite database made by this program (or is damaged)."""


def _private_empty_file(path: Path) -> None:
    """Create `path` (its folder 0700 when new) as an empty 0600 file; it must not exist."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _copy(source: sqlite3.Connection, dest_path: Path) -> None:
    dest = sqlite3.connect(dest_path)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dest.close()


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def check_recall_database(path: Path) -> str:
    """The schema revision of the recall database at `path`; NotARecallDatabase otherwise."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise NotARecallDatabase(f"cannot read {path.name}: {exc.strerror}") from None
    if magic != SQLITE_MAGIC:
        raise NotARecallDatabase(f"{path.name} is not a SQLite database")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise NotARecallDatabase(f"{path.name} cannot be opened: {exc}") from None
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            raise NotARecallDatabase(f"{path.name} is damaged (quick_check failed)")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = REQUIRED_TABLES - tables
        if missing:
            raise NotARecallDatabase(
                f"{path.name} is not a recall database (no {', '.join(sorted(missing))} table)"
            )
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        raise NotARecallDatabase(f"{path.name} cannot be read as a database: {exc}") from None
    finally:
        conn.close()
    if row is None:
        raise NotARecallDatabase(f"{path.name} has no schema revision")
    revision = str(row[0])
    if revision not in known_revisions():
        raise NotARecallDatabase(
            f"{path.name} was made by a newer version of recall (schema {revision}); "
            "upgrade recall first"
        )
    return revision


def backup_sqlite(
    db_path: Path, dest: Path, *, protected: Protected | None = None, owner: str = "backup"
) -> int:
    """Copy the live database at `db_path` to the new file `dest` (0600); returns its size.

    Raises `OutputError` (nothing written) if `dest` exists or may not be written.
    """
    with OutputSet(dest.parent, owner, protected=protected, replace=False) as out:
        with out.open_path(dest.name) as tmp:
            source = sqlite3.connect(db_path, timeout=60)
            try:
                _copy(source, tmp)
            finally:
                source.close()
        out.commit()
    return dest.stat().st_size


def restore_sqlite(backup: Path, db_path: Path, safety_copy: Path) -> str:
    """Replace the database at `db_path` with the contents of `backup`.

    The current database is first copied to `safety_copy`; returns the restored revision.
    """
    revision = check_recall_database(backup)
    if db_path.exists():
        backup_sqlite(db_path, safety_copy, protected=Protected.database(db_path))
    else:
        _private_empty_file(db_path)
    source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dest = sqlite3.connect(db_path, timeout=60)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
    os.chmod(db_path, 0o600)
    return revision
