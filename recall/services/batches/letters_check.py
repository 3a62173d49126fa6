"""Letters are a record: the rule is checked again, against the latest import, before they
are made, and a confirmed batch's letters are never made again.

Making a batch's letters records the day they were made, and a send date may not be earlier.
So letters already made on an earlier day are made again only when asked for in so many
words (`again`): otherwise the day they may really have gone out could no longer be recorded.
"""

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


class MadeOnEarlierDay(Refused):
    """The batch's letters were made on an earlier day and it is not recorded as sent yet:
    making them again would date them today and move the earliest send date to today."""

    def __init__(self, batch_id: int, made_on: dt.date, today: dt.date) -> None:
        self.batch_id = batch_id
        self.made_on = made_on
        self.today = today
        super().__init__(
            f"the letters for batch {batch_id} were already made on {made_on.isoformat()} and "
            "are not recorded as sent. If they went out, record them as sent on the day they "
            f"went out: recall batch confirm {batch_id} --sent-on {made_on.isoformat()} (or "
            "the later day they went out). To make them again dated today instead, so the "
            f"send date can be no earlier than {today.isoformat()}: recall batch letters "
            f"{batch_id} --again"
        )


def made_on_earlier_day(db: Database, batch_id: int, today: dt.date) -> dt.date | None:
    """The day the batch's letters were made, when that is before `today` and the batch is
    still to be recorded as sent (making them again would then move its earliest send date);
    None otherwise (never made, made today, sent or void)."""
    with db.read() as session:
        b = repo.batch_row(session, batch_id)
    if b is None:
        raise NotFound(f"no batch {batch_id}")
    return _earlier_day(b, today)


def _earlier_day(b: Any, today: dt.date) -> dt.date | None:
    made = b.letters_made_on
    if b.status != BatchStatus.PLANNED or made is None or made >= today:
        return None
    return made  # type: ignore[no-any-return]


def recheck_and_load(
    db: Database,
    batch_id: int,
    *,
    today: dt.date | None = None,
    operator: str | None = None,
    again: bool = False,
) -> tuple[list[str], BatchPlan | None]:
    """Take out, with the reason, anyone who should no longer get this batch's letter.

    Only what happened since planning takes someone out (died, left, reviewed, declined,
    booked, left the register); the send date's own rules are checked at confirm. Returns one
    plain line per patient taken out and the batch as it now is (None for a confirmed batch),
    so letters need not read it again. Refused for a void batch, for a confirmed batch
    whose letters were already made (they are the record of what was sent), and, unless
    `again`, for a batch whose letters were made on an earlier day (MadeOnEarlierDay).
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
        earlier = _earlier_day(b, today)
        if earlier is not None and not again:
            raise MadeOnEarlierDay(batch_id, earlier, today)
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
) -> dt.date | None:
    """Record the day the letters were made and each invitation's letter or text number;
    returns the day they were made before (None: never), read under the batch's lock."""
    b = repo.lock_batch(session, batch_id)
    before = b.letters_made_on if b is not None else None
    repo.record_letters_made(session, batch_id, day, numbers)
    return before


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
