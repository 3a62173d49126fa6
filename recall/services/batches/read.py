"""Reading batches: one batch with its invitations and exclusions, or the list of batches."""

from __future__ import annotations

from sqlalchemy.orm import Session

from recall.domain.invitations import InvitationStatus
from recall.services.batches.model import BatchInfo, BatchPlan, batch_info, excluded, invitee
from recall.services.errors import NotFound
from recall.services.practice_scope import resolve_practice_id
from recall.store import batches_repo as repo
from recall.store.db import Database


def resolve_practice(session: Session, practice_id: int | None) -> int:
    pid = resolve_practice_id(session, practice_id)
    assert pid is not None
    return pid


def load_plan(session: Session, batch_id: int) -> BatchPlan:
    """A batch, its invitees (name order) and the patients left out, with reasons."""
    b = repo.batch_row(session, batch_id)
    if b is None:
        raise NotFound(f"no batch {batch_id}")
    rows = repo.invitation_rows(session, batch_id)
    stages = repo.invitation_stages(session, batch_id)
    day = b.sent_on or b.planned_send_date
    invitations = [
        invitee(r, day, stages.get(r.invitation_id))
        for r in rows
        if r.status != InvitationStatus.EXCLUDED
    ]
    left_out = [excluded(r) for r in rows if r.status == InvitationStatus.EXCLUDED]
    live = sum(1 for x in invitations if x.status != InvitationStatus.VOID)
    return BatchPlan(batch_info(b, live, len(left_out)), invitations, left_out)


def get_batch(db: Database, batch_id: int) -> BatchPlan:
    """A batch with its invitations (name, address, conditions, channel, needs, flags) and
    exclusions with reasons; NotFound if there is no such batch."""
    with db.read() as session:
        return load_plan(session, batch_id)


def list_batches(
    db: Database,
    *,
    status: str | None = None,
    practice_id: int | None = None,
    limit: int = 200,
) -> list[BatchInfo]:
    """Batches, newest first, with counts of invited and excluded patients."""
    with db.read() as session:
        pid = resolve_practice(session, practice_id)
        return [
            batch_info(
                r,
                c.get("planned", 0) + c.get("sent", 0) + c.get("void", 0),
                c.get("excluded", 0),
            )
            for r, c in repo.batch_list(session, pid, status=status, limit=limit)
        ]
