"""Reading the audit log for `recall audit` and the UI: when, who, what, which ids."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from recall.services.errors import RecallError
from recall.store.audit_repo import read_audit
from recall.store.db import Database

MAX_LIMIT = 100_000


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as plain data (details hold ids and counts, never patient data)."""

    id: int
    at: dt.datetime
    operator: str
    action: str
    practice_id: int | None
    batch_id: int | None
    details: dict[str, Any] = field(default_factory=dict)
    os_login: str = ""  # the OS login recorded beside the declared operator

    @property
    def who(self) -> str:
        """The operator, and the login too when it differs (RECALL_OPERATOR was set)."""
        if self.os_login and self.os_login != self.operator:
            return f"{self.operator} (login {self.os_login})"
        return self.operator


def _details(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"raw": raw}
    return value if isinstance(value, dict) else {"value": value}


def list_audit(
    db: Database, *, limit: int = 50, action: str | None = None, practice_id: int | None = None
) -> list[AuditEntry]:
    """The newest `limit` entries, newest first, optionally for one action or practice only."""
    if limit < 1 or limit > MAX_LIMIT:
        raise RecallError(f"--limit must be between 1 and {MAX_LIMIT}, got {limit}")
    with db.read() as session:
        rows = read_audit(session, limit=limit, action=(action or None), practice_id=practice_id)
        entries = []
        for row in rows:
            details = _details(row.details)
            login = str(details.pop("os_login", ""))
            entries.append(
                AuditEntry(
                    id=int(row.id or 0),
                    at=row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC),
                    operator=row.operator,
                    action=row.action,
                    practice_id=row.practice_id,
                    batch_id=row.batch_id,
                    details=details,
                    os_login=login,
                )
            )
    return entries
