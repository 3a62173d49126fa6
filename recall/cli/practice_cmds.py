"""CLI commands: `recall practice add|list|show|set` (several practices in one database)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from recall.cli.common import DbOption, JsonOption, db_url, echo, emit, open_database
from recall.services.practices import (
    PracticeDetails,
    add_practice,
    list_practices,
    practice_details,
    set_practice_value,
)


class System(StrEnum):
    systmone = "systmone"
    emis = "emis"


practice_app = typer.Typer(
    help="The practices of this database (a PCN hub runs several side by side).",
    no_args_is_help=True,
)

OdsArg = Annotated[str, typer.Argument(help="The practice's ODS code, e.g. B86001.")]


def _value(value: Any) -> str:
    if isinstance(value, list):
        return " | ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value != "" else "(not set)"


def _show(details: PracticeDetails) -> None:
    echo(details.practice.line())
    echo(f"  patients: {details.patients:,}")
    for key, value in details.settings.items():
        echo(f"  {key.replace('_', '-')}: {_value(value)}")


def _as_json(details: PracticeDetails) -> dict[str, Any]:
    p = details.practice
    return {
        "id": p.id,
        "ods_code": p.ods_code,
        "name": p.name,
        "clinical_system": p.clinical_system,
        "patients": details.patients,
        "settings": details.settings,
    }


@practice_app.command("add")
def practice_add(
    ctx: typer.Context,
    ods: OdsArg,
    name: Annotated[str, typer.Option("--name", help="The practice's name, as on its letters.")],
    system: Annotated[System, typer.Option("--system", help="Its clinical system.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set up a practice: its ODS code, name and clinical system."""
    database = open_database(db_url(ctx, db))
    try:
        added = add_practice(database, ods, name=name, clinical_system=system.value)
    finally:
        database.dispose()
    emit({"practice": added}, json_out, lambda: echo(f"Practice added: {added.line()}"))


@practice_app.command("list")
def practice_list(ctx: typer.Context, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Every practice of this database (ODS - name - clinical system)."""
    database = open_database(db_url(ctx, db))
    try:
        practices = list_practices(database)
    finally:
        database.dispose()

    def human() -> None:
        if not practices:
            echo("No practices yet. Add one: recall practice add ODS --name NAME --system emis")
        for p in practices:
            echo(p.line())

    emit({"practices": practices}, json_out, human)


@practice_app.command("show")
def practice_show(
    ctx: typer.Context, ods: OdsArg, db: DbOption = None, json_out: JsonOption = False
) -> None:
    """One practice's letterhead details, clinical system and settings."""
    database = open_database(db_url(ctx, db))
    try:
        details = practice_details(database, ods)
    finally:
        database.dispose()
    emit({"practice": _as_json(details)}, json_out, lambda: _show(details))


@practice_app.command("set")
def practice_set(
    ctx: typer.Context,
    ods: OdsArg,
    key: Annotated[
        str,
        typer.Argument(
            help="name, address (lines split by |), phone, email, booking-url, signatory, "
            "system, recall-rule, interval, sms, record-generic, name-sensitive-conditions."
        ),
    ],
    value: Annotated[str, typer.Argument(help="The new value (yes/no for on/off settings).")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Change one of a practice's settings (audited)."""
    database = open_database(db_url(ctx, db))
    try:
        details, changed = set_practice_value(database, ods, key, value)
    finally:
        database.dispose()

    def human() -> None:
        if not changed:
            echo("Nothing changed.")
        _show(details)

    emit({"practice": _as_json(details), "changed": changed}, json_out, human)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(practice_app, name="practice")
