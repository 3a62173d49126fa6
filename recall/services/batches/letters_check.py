"""Letters are a record: the rule is checked again, against the latest import, before they
are made, and a confirmed batch's letters are never made again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from recall.domain.invitations import BatchStatus, InvitationStatus
from recall.services.batches.judge import judge_all
from recall.services.batches.model import BatchPlan
from recall.services.batches.plan import AUDIT_SEEN
from recall.services.batches.read import load_plan
from recall.services.errors import NotFound, Refused
from recall.services.infra.operator import current_operator
from recall.store import batches_repo as repo
from recall.store.audit_repo import (
    append_audit,
    count_batch_entries_from,
    count_entries,
    latest_entry,
)
from recall.store.db import Database


def recheck_and_load(
    db: Database, batch_id: int, *, today: dt.date | None = None, operator: str | None = None
) -> tuple[list[str], BatchPlan | None]:
    """Take out, with the reason, anyone who should no longer get this batch's letter.

    Only what happened since planning takes someone out (died, left, reviewed, declined,
    booked, left the register); the send date's own rules are checked at confirm. Returns one
    plain line per patient taken out and the batch as it now is (None for a confirmed batch),
    so letters need not read it again. Refused for a void batch, and for a confirmed batch
    whose letters were already made (they are the record of what was sent).
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
            return [], None
        return _take_out_changed(session, b, max(b.planned_send_date, today), operator)


def _take_out_changed(
    session: Session, b: object, day: dt.date, operator: str
) -> tuple[list[str], BatchPlan]:
    batch_id = int(b.id)  # type: ignore[attr-defined]
    practice_id = int(b.practice_id)  # type: ignore[attr-defined]
    plan = load_plan(session, batch_id)
    invited = [x for x in plan.invitations if x.status == InvitationStatus.PLANNED]
    if not invited or _unchanged_since_planning(session, b, day):
        return [], plan
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
        plan = load_plan(session, batch_id)
    return notes, plan


def mark_letters_made(
    session: Session, batch_id: int, day: dt.date, numbers: Mapping[int, int]
) -> None:
    """Record the day the letters were made and each invitation's letter or text number."""
    repo.record_letters_made(session, batch_id, day, numbers)


def _unchanged_since_planning(session: Session, b: Any, day: dt.date) -> bool:
    """Nothing was recorded since the rule planned this batch, for the same day: the rule
    would give the same answer, so it need not run again.

    Every change to what the rule reads (an import, a response, another batch's codes, a
    code list, a setting) writes an audit entry in its own transaction, and the log only
    grows: if it holds exactly the entries it held when planning read the facts plus this
    batch's own, nothing else happened. Any doubt means the full re-check.
    """
    if day != b.planned_send_date:
        return False
    entry = latest_entry(session, int(b.id), ("batch.plan", "batch.replan"))
    if entry is None or not isinstance(entry[1].get(AUDIT_SEEN), int):
        return False
    entry_id, details = entry
    own = count_batch_entries_from(session, int(b.id), entry_id)
    return bool(count_entries(session) == int(details[AUDIT_SEEN]) + own)
