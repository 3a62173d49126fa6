"""Shared CLI plumbing: the --db/--json options, output, and one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from recall.services.database import open_database
from recall.services.errors import RecallError

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="RECALL_DATABASE_URL",
        help="Database URL (sqlite:////path/recall.db or postgresql+psycopg://...).",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


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


def emit(data: Any, as_json: bool, human: Callable[[], None] | None = None) -> None:
    """Print `data` as one JSON document, or call `human` to print it for people."""
    if as_json:
        json.dump(data, sys.stdout, default=_default, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif human is not None:
        human()
    else:
        typer.echo(json.dumps(data, default=_default, indent=2, ensure_ascii=False))


def fail(message: str, code: int = 2) -> None:
    """One line on stderr and a non-zero exit."""
    typer.echo(f"recall: {message}", err=True)
    raise typer.Exit(code)


__all__ = ["DbOption", "JsonOption", "emit", "fail", "open_database", "parse_date"]
