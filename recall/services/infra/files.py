"""How use-cases write files: through `recall.outputs`, with this database protected.

A refused or failed write becomes a one-line `Refused` naming the path, like any other rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from recall.outputs import OutputError, Protected
from recall.store.db import Database, sqlite_path


def protected_for(db: Database) -> Protected:
    """The open database's file and companions (nothing for PostgreSQL: no file to hit)."""
    return Protected.database(sqlite_path(db.url))


@contextmanager
def writing() -> Iterator[None]:
    """Turn an output refusal or a write failure into a staff-facing one-line error."""
    from recall.services.errors import Refused

    try:
        yield
    except OutputError as exc:
        raise Refused(f"not written: {exc}") from None
