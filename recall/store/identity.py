"""Each database's own id, made on first use and kept in it (a settings row).

Output folders are named by this id, so two databases never share a folder however alike
their names or hosts (`a.b` and `a_b`, one name on two servers). The row hangs off the first
practice (a PCN database has several; the first never changes), so no migration is needed.
"""

from __future__ import annotations

import json
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from recall.store.models import practice_t, setting_t
from recall.store.practice_repo import get_or_create_practice
from recall.store.settings_repo import save_setting

DATABASE_ID_KEY = "database_id"
_ID = re.compile(r"^db-[0-9a-f]{16}$")


def read_database_id(session: Session) -> str | None:
    """The id stored in this database, or None before the first use."""
    first = select(practice_t.c.id).order_by(practice_t.c.id).limit(1).scalar_subquery()
    value = session.execute(
        select(setting_t.c.value).where(
            setting_t.c.practice_id == first, setting_t.c.key == DATABASE_ID_KEY
        )
    ).scalar()
    if value is None:
        return None
    try:
        found = json.loads(value)
    except ValueError:
        return None
    return found if isinstance(found, str) and _ID.match(found) else None


def ensure_database_id(session: Session) -> str:
    """The id, made and stored now if the database has none yet (call in a write session)."""
    found = read_database_id(session)
    if found is not None:
        return found
    practice = get_or_create_practice(session)
    assert practice.id is not None
    new = f"db-{secrets.token_hex(8)}"
    save_setting(session, practice.id, DATABASE_ID_KEY, new)
    return new
