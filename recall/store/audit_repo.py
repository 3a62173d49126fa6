"""The audit log: insert and read only. There is deliberately no update or delete here."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from recall.domain.text import printable
from recall.store.models import AuditLog, audit_log_t, batch_t


def _os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name on some service accounts
        return "unknown"


def _one_line(text: str, limit: int = 64) -> str:
    return re.sub(r"\s+", " ", printable(text)).strip()[:limit]


def append_audit(
    session: Session,
    *,
    operator: str,
    action: str,
    practice_id: int | None = None,
    batch_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Add one row. The operator is kept to one printable line, and the OS login is always
    recorded beside it (`os_login`), so a declared name cannot hide who was logged in."""
    recorded = {**(details or {}), "os_login": _one_line(_os_login())}
    practice: Any = practice_id
    if practice is None and batch_id is not None:  # an entry about a batch is its practice's
        practice = select(batch_t.c.practice_id).where(batch_t.c.id == batch_id).scalar_subquery()
    session.execute(
        insert(audit_log_t).values(
            at=at or dt.datetime.now(dt.UTC),
            operator=_one_line(operator) or "unknown",
            action=action,
            practice_id=practice,
            batch_id=batch_id,
            details=json.dumps(recorded, sort_keys=True, default=str),
        )
    )


def read_audit(
    session: Session,
    *,
    limit: int = 200,
    action: str | None = None,
    practice_id: int | None = None,
) -> Sequence[AuditLog]:
    q = select(AuditLog).order_by(audit_log_t.c.id.desc()).limit(limit)
    if action:
        q = q.where(audit_log_t.c.action == action)
    if practice_id is not None:
        q = q.where(audit_log_t.c.practice_id == practice_id)
    return session.scalars(q).all()


def count_entries(session: Session) -> int:
    """How many entries the log holds: it only grows, so an equal count later means nothing
    was recorded in between (whatever order concurrent transactions took their ids in)."""
    return int(session.execute(select(func.count()).select_from(audit_log_t)).scalar_one())


def latest_entry(
    session: Session, batch_id: int, actions: Sequence[str]
) -> tuple[int, dict[str, Any]] | None:
    """The newest entry for this batch with one of `actions`: (id, details)."""
    a = audit_log_t
    row = session.execute(
        select(a.c.id, a.c.details)
        .where(a.c.batch_id == batch_id, a.c.action.in_(list(actions)))
        .order_by(a.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    try:
        details = json.loads(row.details)
    except ValueError:
        details = {}
    return int(row.id), details if isinstance(details, dict) else {}


def count_batch_entries_from(session: Session, batch_id: int, first_id: int) -> int:
    """Entries for this batch from entry `first_id` on."""
    a = audit_log_t
    return int(
        session.execute(
            select(func.count()).where(a.c.batch_id == batch_id, a.c.id >= first_id)
        ).scalar_one()
    )
