"""Key/value settings per practice, stored as JSON."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from recall.store.models import Setting, setting_t


def load_settings(session: Session, practice_id: int) -> dict[str, Any]:
    rows = session.execute(
        select(setting_t.c.key, setting_t.c.value).where(setting_t.c.practice_id == practice_id)
    )
    return {key: json.loads(value) for key, value in rows}


def save_setting(session: Session, practice_id: int, key: str, value: Any) -> None:
    row = session.get(Setting, (practice_id, key))
    text = json.dumps(value, sort_keys=True)
    if row is None:
        session.add(Setting(practice_id=practice_id, key=key, value=text))
    else:
        row.value = text
    session.flush()
