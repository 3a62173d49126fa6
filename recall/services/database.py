"""Opening the database for the presentation layer (which may not import the store)."""

from __future__ import annotations

from recall.store.db import Database, DatabaseError, default_url

__all__ = ["Database", "DatabaseError", "default_url", "open_database"]


def open_database(url: str | None = None) -> Database:
    """Open (creating and migrating if needed) the database at `url` or the default."""
    return Database(url)
