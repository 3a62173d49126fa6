"""The audit log: insert and read only. There is deliberately no update or delete here."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from recall.store.models import AuditLog, audit_log_t


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
    session.execute(
        insert(audit_log_t).values(
            at=at or dt.datetime.now(dt.UTC),
            operator=operator,
            action=action,
            practice_id=practice_id,
            batch_id=batch_id,
            details=json.dumps(details or {}, sort_keys=True, default=str),
        )
    )


def read_audit(
    session: Session, *, limit: int = 200, action: str | None = None
) -> Sequence[AuditLog]:
    q = select(AuditLog).order_by(audit_log_t.c.id.desc()).limit(limit)
    if action:
        q = q.where(audit_log_t.c.action == action)
    return session.scalars(q).all()
