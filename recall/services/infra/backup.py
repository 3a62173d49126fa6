"""Backup and restore of the practice database (SQLite); PostgreSQL uses its own tools."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from recall.outputs import OutputError, OutputRefused, Protected
from recall.services.errors import RecallError, Refused
from recall.services.infra.operator import current_operator
from recall.store.audit_repo import append_audit
from recall.store.backup import (
    NotARecallDatabase,
    backup_sqlite,
    check_recall_database,
    restore_sqlite,
)
from recall.store.db import Database, sqlite_path
from recall.store.migrate import upgrade

PG_BACKUP_ADVICE = (
    "this database is PostgreSQL: back it up with the server's own tool, e.g. "
    "`pg_dump --format=custom --file FILE DBNAME`"
)
PG_RESTORE_ADVICE = (
    "this database is PostgreSQL: restore it with the server's own tool, e.g. "
    "`pg_restore --clean --if-exists --dbname DBNAME FILE`"
)


class UseServerTools(RecallError):
    """Backup/restore of a server database is done with pg_dump / pg_restore."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    restored_revision: str
    safety_copy: Path | None


def _sqlite_file(db: Database, advice: str) -> Path:
    if db.backend == "postgresql":
        raise UseServerTools(advice)
    path = sqlite_path(db.url)
    if path is None:
        raise RecallError("an in-memory database cannot be backed up or restored")
    return path


def backup_database(db: Database, dest: Path, *, operator: str | None = None) -> BackupResult:
    """Copy the database to the new file `dest` (0600), consistent even while others write."""
    source = _sqlite_file(db, PG_BACKUP_ADVICE)
    dest = dest.expanduser()
    if dest.exists():
        raise Refused(f"{dest} already exists; choose a new file name")
    if dest.resolve() == source.resolve():
        raise Refused("the backup file must not be the database itself")
    try:
        size = backup_sqlite(source, dest, protected=Protected.database(source))
    except OutputRefused as exc:
        if "already exists" in exc.why or "appeared" in exc.why:
            raise Refused(f"{dest} already exists; choose a new file name") from None
        raise Refused(f"not written: {exc}") from None
    except OutputError as exc:
        raise RecallError(f"cannot write {dest}: {exc.why}") from None
    except OSError as exc:
        raise RecallError(f"cannot write {dest}: {exc.strerror}") from None
    with db.write() as session:
        append_audit(
            session,
            operator=operator or current_operator(),
            action="backup",
            details={"bytes": size},
        )
    return BackupResult(path=dest, bytes=size)


def restore_database(
    db: Database, backup: Path, *, operator: str | None = None, now: dt.datetime | None = None
) -> RestoreResult:
    """Replace the database with `backup`, keeping a copy of the current one beside it.

    Refuses anything that is not a recall database. The restored database is upgraded to the
    current schema, and the restore itself is recorded in its audit log.
    """
    target = _sqlite_file(db, PG_RESTORE_ADVICE)
    backup = backup.expanduser()
    if not backup.is_file():
        raise RecallError(f"{backup} does not exist")
    if target.exists() and backup.resolve() == target.resolve():
        raise Refused("that file is the database itself")
    try:
        check_recall_database(backup)  # before touching anything
    except NotARecallDatabase as exc:
        raise Refused(f"not restored: {exc}") from None
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S")
    safety = target.with_name(f"{target.stem}.before-restore-{stamp}{target.suffix}")
    had_database = target.exists()
    db.dispose()  # no pooled connection keeps the old pages
    try:
        revision = restore_sqlite(backup, target, safety)
    except NotARecallDatabase as exc:
        raise Refused(f"not restored: {exc}") from None
    except OutputError:
        raise Refused(f"{safety} cannot be written; try again in a second") from None
    upgrade(db.engine)
    with db.write() as session:
        append_audit(
            session,
            operator=operator or current_operator(),
            action="restore",
            details={"from_revision": revision, "safety_copy": safety.name},
        )
    return RestoreResult(
        path=target, restored_revision=revision, safety_copy=safety if had_database else None
    )
