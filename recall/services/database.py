"""Opening the database for the presentation layer (which may not import the store)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url

from recall.store.db import Database, DatabaseError, default_url, sqlite_path

__all__ = ["Database", "DatabaseError", "default_url", "open_database", "output_root"]


def output_root(db_url: str | None) -> Path:
    """Where letters and worksheets for this database go by default.

    Each database gets its own folder, so batch 1 of the demo practice never overwrites
    batch 1 of the real one: beside a SQLite file (`recall-files/` for `recall.db`), or
    under the user data folder for PostgreSQL (named after host and database).
    """
    base = Path(platformdirs.user_data_dir("recall", appauthor=False))
    if not db_url:
        return base / "files"
    path = sqlite_path(db_url)
    if path is not None:
        return path.parent / f"{path.stem}-files"
    u = make_url(db_url)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{u.host}-{u.database}")
    return base / "files" / safe


def open_database(url: str | None = None) -> Database:
    """Open (creating and migrating if needed) the database at `url` or the default."""
    return Database(url)
