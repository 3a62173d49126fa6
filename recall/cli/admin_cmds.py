"""CLI commands: `recall audit`, `recall backup FILE`, `recall restore FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recall.cli.common import (
    DbOption,
    JsonOption,
    chosen_practice,
    db_url,
    echo,
    emit,
    open_database,
    practice_ods,
)
from recall.domain.text import printable
from recall.services.audit import AuditEntry, list_audit
from recall.services.infra.backup import backup_database, restore_database


def _show_audit(entries: list[AuditEntry]) -> None:
    if not entries:
        echo("No audit entries.")
        return
    for e in entries:
        ids = []
        if e.practice_id is not None:
            ids.append(f"practice {e.practice_id}")
        if e.batch_id is not None:
            ids.append(f"batch {e.batch_id}")
        details = " ".join(f"{k}={v}" for k, v in sorted(e.details.items()))
        when = e.at.strftime("%Y-%m-%d %H:%M:%S UTC")
        parts = [f"#{e.id}", when, e.who, e.action, ", ".join(ids), details]
        # one entry is one line, whatever older rows hold (a newline in an operator name)
        echo(printable("  ".join(p for p in parts if p)))


def audit(
    ctx: typer.Context,
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", help="How many entries, newest first.")] = 50,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. batch.confirm.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the audit log: when, who, what, which ids (newest first); with --practice, only
    that practice's entries."""
    database = open_database(db_url(ctx, db))
    try:
        chosen = chosen_practice(ctx, database).id if practice_ods(ctx) else None
        entries = list_audit(database, limit=limit, action=action, practice_id=chosen)
    finally:
        database.dispose()
    emit({"entries": entries}, as_json, lambda: _show_audit(entries))


def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="New file to write the copy to.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Copy the database to FILE (SQLite; safe while others are working)."""
    database = open_database(db_url(ctx, db))
    try:
        result = backup_database(database, file)
    finally:
        database.dispose()
    emit(
        {"path": str(result.path), "bytes": result.bytes},
        as_json,
        lambda: echo(f"Backed up to {result.path} ({result.bytes:,} bytes)."),
    )


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup made by `recall backup`.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the database with FILE; the current one is kept beside it first."""
    database = open_database(db_url(ctx, db))
    try:
        result = restore_database(database, file)
    finally:
        database.dispose()

    def human() -> None:
        echo(f"Restored {result.path} from {file}.")
        if result.safety_copy is not None:
            echo(f"The previous database was kept as {result.safety_copy}.")

    emit(
        {
            "path": str(result.path),
            "restored_revision": result.restored_revision,
            "safety_copy": str(result.safety_copy) if result.safety_copy else None,
        },
        as_json,
        human,
    )


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("audit")(audit)
    app.command("backup")(backup)
    app.command("restore")(restore)
