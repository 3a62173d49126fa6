"""Opening the database for the presentation layer (which may not import the store)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from recall.store.db import Database, DatabaseError, default_url, sqlite_path
from recall.store.identity import ensure_database_id, read_database_id

__all__ = [
    "Database",
    "DatabaseError",
    "database_id",
    "default_url",
    "open_database",
    "output_root",
    "safe_url",
]


def safe_url(url: str) -> str:
    """The URL to show anyone (screen, log, JSON): any password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show nothing that might be a secret
        return "(database)"


def database_id(db: Database) -> str:
    """This database's own id (made and stored on first use)."""
    with db.read() as session:
        found = read_database_id(session)
    if found is not None:
        return found
    try:
        with db.write() as session:
            return ensure_database_id(session)
    except IntegrityError:  # another terminal stored one at the same moment: use theirs
        with db.read() as session:
            again = read_database_id(session)
        if again is None:
            raise
        return again


def output_root(db: Database) -> Path:
    """Where letters and worksheets for this database go by default.

    A folder named by the database's own id, so no two databases share one (batch 1 of the
    demo practice never touches batch 1 of the real one, `a.b` never touches `a_b`): under
    `recall-files/` beside a SQLite file (`recall.db`), else under the user data folder.
    """
    path = sqlite_path(db.url)
    if path is not None:
        base = path.parent / f"{path.stem}-files"
    else:
        base = Path(platformdirs.user_data_dir("recall", appauthor=False)) / "files"
    return base / database_id(db)


def open_database(url: str | None = None) -> Database:
    """Open (creating and migrating if needed) the database at `url` or the default."""
    return Database(url)
