"""Shared CLI plumbing: the --db/--json options, output, and one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer

from recall.domain.nhs import format_nhs_number
from recall.domain.text import printable
from recall.services.errors import RecallError, Refused
from recall.services.infra.database import Database, open_database
from recall.services.practices import (
    PracticeSummary,
    check_batch_practice,
    choose_practice,
    practice_from_environment,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="RECALL_DATABASE_URL",
        help="Database URL (sqlite:////path/recall.db or postgresql+psycopg://...).",
        show_envvar=True,
    ),
]
PracticeOption = Annotated[
    str | None,
    typer.Option(
        "--practice",
        help="ODS code of the practice to work on (env RECALL_PRACTICE); needed when the "
        "database holds several practices.",
        show_envvar=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing file recall did not write (never a database, backup or link).",
    ),
]


def db_url(ctx: typer.Context, db: str | None) -> str | None:
    """--db after the command, else --db before it (root option), else env/default."""
    if db:
        return db
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    value = obj.get("db")
    return value if isinstance(value, str) and value else None


def practice_ods(ctx: typer.Context) -> str | None:
    """--practice (anywhere on the line), else RECALL_PRACTICE, else None."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    value = obj.get("practice")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return practice_from_environment() or None


def chosen_practice(ctx: typer.Context, database: Database) -> PracticeSummary:
    """The practice the command works on; several and none chosen: refused with the list."""
    return choose_practice(database, practice_ods(ctx))


@contextmanager
def practice_database(
    ctx: typer.Context, db: str | None, as_json: bool = False, *, batch_id: int | None = None
) -> Iterator[tuple[Database, int]]:
    """The command's database and the id of its practice (a batch given must be that
    practice's own); a rule refusal lists each patient and why."""
    with cli_database(ctx, db, as_json) as database:
        practice = chosen_practice(ctx, database)
        if batch_id is not None:
            check_batch_practice(database, batch_id, practice)
        yield database, practice.id


def show_refusal(exc: Refused, as_json: bool) -> NoReturn:
    """A refusal: one line, then each patient/item and why; non-zero exit."""
    if as_json:
        emit({"error": str(exc), "problems": exc.problems}, True)
    echo(f"recall: {exc}", err=True)
    for p in exc.problems:
        who = format_nhs_number(p["nhs_number"]) if p.get("nhs_number") else p.get("condition", "")
        echo(f"  {who}: {p.get('reason', '')}", err=True)
    raise typer.Exit(2)


@contextmanager
def cli_database(ctx: typer.Context, db: str | None, as_json: bool = False) -> Iterator[Database]:
    """The command's database, closed afterwards; a rule refusal lists each patient and why."""
    database = open_database(db_url(ctx, db))
    try:
        yield database
    except Refused as exc:
        show_refusal(exc, as_json)
    finally:
        database.dispose()


def parse_date(value: str | None, name: str = "date") -> dt.date | None:
    """ISO dates only on the command line (never US order)."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise RecallError(f"{name} must be a date like 2026-11-27, got {value!r}") from None


def _default(obj: Any) -> Any:
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    return str(obj)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`plural(1, "letter")` -> "1 letter"; `plural(3, "letter")` -> "3 letters"."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def echo(text: object = "", err: bool = False) -> None:
    """Every line the CLI prints goes through here: stored text may hold escape sequences
    (ESC[2J clears the screen, OSC 52 writes the clipboard) and must reach the terminal inert."""
    typer.echo(printable(text, keep_newlines=True), err=err)


# JSON escapes C0 controls itself; these it would write raw with ensure_ascii=False.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def to_json(data: Any) -> str:
    """One JSON document with every control character escaped (`\\u009b`), so printing it
    to a terminal is inert and parsing it gives back the exact stored text."""
    text = json.dumps(data, default=_default, indent=2, ensure_ascii=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit(data: Any, as_json: bool, human: Callable[[], None] | None = None) -> None:
    """Print `data` as one JSON document, or call `human` to print it for people."""
    if as_json:
        sys.stdout.write(to_json(data) + "\n")
    elif human is not None:
        human()
    else:
        typer.echo(to_json(data))


def fail(message: str, code: int = 2) -> None:
    """One line on stderr and a non-zero exit."""
    echo(f"recall: {message}", err=True)
    raise typer.Exit(code)


__all__ = [
    "DbOption",
    "ForceOption",
    "JsonOption",
    "PracticeOption",
    "chosen_practice",
    "cli_database",
    "db_url",
    "echo",
    "emit",
    "fail",
    "open_database",
    "parse_date",
    "practice_database",
    "practice_ods",
    "show_refusal",
]
