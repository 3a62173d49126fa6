"""Letters are a record: the rule is checked again, against the latest import, before they
are made, and a confirmed batch's letters are never made again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from recall.domain.invitations import BatchStatus, InvitationStatus
from recall.services.batches.judge import judge_all
from recall.services.batches.read import load_plan
from recall.services.errors import NotFound, Refused
from recall.services.infra.operator import current_operator
from recall.store import batches_repo as repo
from recall.store.audit_repo import append_audit
from recall.store.db import Database


def recheck_before_letters(
    db: Database, batch_id: int, *, today: dt.date | None = None, operator: str | None = None
) -> list[str]:
    """Take out, with the reason, anyone who should no longer get this batch's letter.

    Only what happened since planning takes someone out (died, left, reviewed, declined,
    booked, left the register); the send date's own rules are checked at confirm. Returns one
    plain line per patient taken out. Refused for a void batch, and for a confirmed batch whose
    letters were already made (they are the record of what was sent).
    """
    today = today or dt.date.today()
    operator = operator or current_operator()
    with db.write() as session:
        b = repo.lock_batch(session, batch_id)
        if b is None:
            raise NotFound(f"no batch {batch_id}")
        if b.status == BatchStatus.VOID:
            raise Refused(f"batch {batch_id} is void: there is nothing to send")
        if b.status == BatchStatus.SENT:
            if b.letters_made_on is not None:
                raise Refused(
                    f"batch {batch_id} was confirmed as sent on {b.sent_on}: its letters, made "
                    f"on {b.letters_made_on.isoformat()}, are the record of what was sent and "
                    "are not made again"
                )
            return []
        return _take_out_changed(session, b, max(b.planned_send_date, today), operator)


def _take_out_changed(session: Session, b: object, day: dt.date, operator: str) -> list[str]:
    batch_id = int(b.id)  # type: ignore[attr-defined]
    practice_id = int(b.practice_id)  # type: ignore[attr-defined]
    invited = [
        x for x in load_plan(session, batch_id).invitations if x.status == InvitationStatus.PLANNED
    ]
    if not invited:
        return []
    out, _catalogue = judge_all(session, b, invited, day)
    notes = []
    for x, why, _staff in out.dropped:
        repo.set_invitation(
            session,
            x.invitation_id,
            status=InvitationStatus.EXCLUDED,
            reason=why,
            staff_excluded=False,
        )
        notes.append(f"{x.name}: taken out, {why}")
    if out.dropped:
        append_audit(
            session,
            operator=operator,
            action="batch.recheck",
            practice_id=practice_id,
            batch_id=batch_id,
            details={"taken_out": len(out.dropped), "on": day.isoformat()},
        )
    return notes


def mark_letters_made(
    session: Session, batch_id: int, day: dt.date, numbers: Mapping[int, int]
) -> None:
    """Record the day the letters were made and each invitation's letter or text number."""
    repo.record_letters_made(session, batch_id, day, numbers)
