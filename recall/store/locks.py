"""Serialising work on one thing across terminals, on PostgreSQL.

SQLite write transactions already run one at a time (BEGIN IMMEDIATE). On PostgreSQL two
terminals planning the same cohort and stage would both see "no batch yet" and both create
one; a transaction-scoped advisory lock on the cohort makes the second wait for the first and
then re-plan the same batch, as on SQLite.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def lock_key(*parts: object) -> int:
    """A stable signed 64-bit key for `parts` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_for_transaction(session: Session, *parts: object) -> None:
    """Hold an exclusive lock on `parts` until this transaction ends (no-op on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(select(func.pg_advisory_xact_lock(lock_key(*parts))))
