"""CLI commands: `recall init`, `recall import`, `recall demo`, `recall codes ...`."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recall.cli.common import DbOption, JsonOption, emit, open_database, parse_date
from recall.services.errors import Refused


class Kind(StrEnum):
    patients = "patients"
    registers = "registers"
    events = "events"


def _url(ctx: typer.Context, db: str | None) -> str | None:
    """--db after the command, else --db before it (root option), else env/default."""
    if db:
        return db
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    value = obj.get("db")
    return str(value) if value else None


def _refused(exc: Refused) -> None:
    """One summary line, then each problem on its own line, then a non-zero exit."""
    typer.echo(f"recall: {exc}", err=True)
    lines = getattr(exc, "lines", None)
    if lines is None:
        lines = [
            " ".join(v for v in (p.get("nhs_number", ""), p.get("reason", "")) if v) or str(p)
            for p in exc.problems
        ]
    if len(lines) > 1:
        for line in lines:
            typer.echo(f"  {line}", err=True)
    raise typer.Exit(2)


def init_cmd(ctx: typer.Context, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Create (or upgrade) the database and show what it holds."""
    from recall.services.imports import database_counts

    database = open_database(_url(ctx, db))
    try:
        info = database_counts(database)
    finally:
        database.dispose()

    def human() -> None:
        typer.echo(f"Database ready: {info.url}")
        typer.echo(
            f"{info.patients} patients, {info.registers} register entries, {info.events} events"
        )
        if not info.patients:
            typer.echo("Next: recall import patients FILE (or try: recall demo)")

    emit(info, json_out, human)


def import_cmd(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="The CSV file.")],
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", help="Column mapping: systmone, emis, or a .toml file."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import a patients, registers or events CSV (all-or-nothing)."""
    from recall.services.imports import import_file

    show_progress = not json_out and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress:
            typer.echo(f"\r  {done:,} of about {total:,} rows", err=True, nl=False)

    database = open_database(_url(ctx, db))
    try:
        result = import_file(database, kind.value, file, mapping, progress=progress)
    except Refused as exc:
        if show_progress:
            typer.echo("", err=True)
        _refused(exc)
        return
    finally:
        database.dispose()
    if show_progress:
        typer.echo("", err=True)

    def human() -> None:
        typer.echo(
            f"{result.file}: {result.rows_read} rows read, {result.added} added, "
            f"{result.updated} updated, {result.skipped} already there "
            f"(mapping {result.mapping}, header on line {result.header_line})"
        )
        if result.warning_count:
            typer.echo(f"{result.warning_count} warning(s):")
            for line in result.warnings:
                typer.echo(f"  {line}")

    emit(result, json_out, human)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("init")(init_cmd)
    app.command("import")(import_cmd)
    _ = parse_date
