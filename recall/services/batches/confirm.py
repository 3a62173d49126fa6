"""Confirming a batch as sent: every code it records is a true invitation on the send date.

One transaction: load the batch and each invitee's facts, ask the same rule that planned it
(on the send date), then record the LTC stage code (the letter's highest stage) and each
invited condition's code at its own stage, all dated the send date. Any rule the date would
break refuses the whole confirm with each patient and reason; patients whose circumstances
changed since planning (died, left, reviewed, ...) are taken out, and the letters and texts
already made for them are listed so staff can take them out of the post.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue
from recall.domain.invitations import (
    ORDINAL,
    BatchStatus,
    InvitationStatus,
)
from recall.domain.nhs import InvalidNhsNumber, normalise_nhs_number
from recall.domain.qof_year import QofYear
from recall.services.batches.codes import code_rows, record_codes
from recall.services.batches.judge import Outcome, judge_all
from recall.services.batches.model import (
    CodeLine,
    ConfirmResult,
    Excluded,
    Invitee,
    batch_info,
)
from recall.services.batches.read import load_plan
from recall.services.errors import NotFound, Problem, RecallError, Refused
from recall.services.infra.bulk_objects import no_cycle_collection
from recall.services.infra.operator import current_operator
from recall.store import batches_repo as repo
from recall.store.audit_repo import append_audit
from recall.store.db import Database


def done_by(b: Any) -> str:
    """'by reception-1 at 27/11/2026 09:03' for a confirmed batch (local time)."""
    when = b.confirmed_at
    if when is None:
        return f"by {b.confirmed_by or 'someone'}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return f"by {b.confirmed_by or 'someone'} at {when.astimezone():%d/%m/%Y %H:%M}"


def check_send_date(b: Any, day: dt.date, today: dt.date) -> None:
    """The send date may not be in the future, outside the batch's year, or before letters."""
    if b.status == BatchStatus.SENT:
        raise Refused(
            f"batch {b.id} was already confirmed {done_by(b)} as sent on {b.sent_on}: "
            "nothing recorded"
        )
    if b.status == BatchStatus.VOID:
        raise Refused(f"batch {b.id} is void: plan a new batch")
    if day > today:
        raise Refused(f"the send date {day.isoformat()} is in the future")
    year = QofYear(b.qof_year)
    if day not in year:
        raise Refused(
            f"the send date {day.isoformat()} is outside this batch's QOF year {year.label} "
            f"({year.start.isoformat()} to {year.end.isoformat()})"
        )
    if b.letters_made_on is not None and day < b.letters_made_on:
        raise Refused(
            f"the letters for batch {b.id} were made on {b.letters_made_on.isoformat()}: "
            f"they cannot have been sent on {day.isoformat()}, before they existed"
        )


def _staff_exclusions(
    invited: list[Invitee], exclude: Iterable[str], ids: Iterable[int], batch_id: int
) -> set[int]:
    want_out = set(ids)
    unknown: list[Problem] = []
    by_nhs = {x.nhs_number: x.patient_id for x in invited}
    for raw in exclude:
        try:
            nhs = normalise_nhs_number(raw)
        except InvalidNhsNumber as exc:
            raise RecallError(f"--exclude: not a valid NHS number: {exc}") from None
        if nhs in by_nhs:
            want_out.add(by_nhs[nhs])
        else:
            unknown.append(Problem("not invited in this batch", nhs_number=nhs))
    if unknown:
        raise Refused(
            f"{len(unknown)} patient(s) to exclude are not invited in batch {batch_id}", unknown
        )
    return want_out


def confirm_batch(
    db: Database,
    batch_id: int,
    sent_on: dt.date | None = None,
    *,
    exclude: Iterable[str] = (),
    exclude_patient_ids: Iterable[int] = (),
    operator: str | None = None,
    today: dt.date | None = None,
) -> ConfirmResult:
    """Mark a batch as sent on `sent_on` (default: its planned date) and record its codes.

    Refused with nothing recorded (each patient and reason listed): a future date, a date
    outside the batch's QOF year or before its letters were made, a confirmed or void batch,
    a condition without a ready record code, or any invitee for whom the date would break
    the rule (stage order, 7 days, before registration or register entry). Patients who died,
    left or were reviewed since planning are taken out and named; `exclude` (NHS numbers)
    takes patients out so the rest can be confirmed.
    """
    operator = operator or current_operator()
    today = today or dt.date.today()
    try:
        with db.write() as session, no_cycle_collection():  # a batch's rows and fact sets
            return confirm_in(
                session,
                batch_id,
                sent_on,
                exclude=exclude,
                exclude_ids=exclude_patient_ids,
                operator=operator,
                today=today,
            )
    except IntegrityError:
        raise Refused(
            f"batch {batch_id}: another terminal recorded these codes at the same time; "
            "nothing was recorded here"
        ) from None


def confirm_in(
    session: Session,
    batch_id: int,
    sent_on: dt.date | None,
    *,
    exclude: Iterable[str],
    exclude_ids: Iterable[int],
    operator: str,
    today: dt.date,
) -> ConfirmResult:
    b = repo.lock_batch(session, batch_id)
    if b is None:
        raise NotFound(f"no batch {batch_id}")
    day = sent_on or b.planned_send_date
    check_send_date(b, day, today)
    plan = load_plan(session, batch_id)
    invited = [x for x in plan.invitations if x.status == InvitationStatus.PLANNED]
    if not invited:
        _refuse_if_done_elsewhere(session, b)
    want_out = _staff_exclusions(invited, exclude, exclude_ids, batch_id)
    out, catalogue = judge_all(session, b, invited, day, staff_out=want_out, sending=True)
    if out.refusals:
        raise Refused(
            f"{len({p.patient_id for p in out.refusals})} patient(s) cannot be coded as "
            f"invited on {day.isoformat()} (first: {out.refusals[0].reason}); exclude them "
            "(--exclude NHS_NUMBER) or choose another date. Nothing was recorded",
            out.refusals,
        )
    record = record_codes(catalogue, out, day)
    lines = _write(session, b, day, catalogue, record, out)
    append_audit(
        session,
        operator=operator,
        action="batch.confirm",
        practice_id=b.practice_id,
        batch_id=batch_id,
        details={
            "sent_on": day.isoformat(),
            "stage": b.stage,
            "invited": len(out.keep),
            "dropped": len(out.dropped),
            "codes": lines[1],
            "warnings": len(out.warnings),
        },
    )
    repo.mark_sent(session, batch_id, day, operator)
    drops = [
        Excluded(
            x.patient_id,
            x.nhs_number,
            x.given_name,
            x.family_name,
            why,
            x.conditions,
            staff,
            x.invitation_id,
            letter_number=x.letter_number,
            channel=x.channel,
        )
        for x, why, staff in out.dropped
    ]
    left_out = [*plan.excluded, *drops]
    live = sum(1 for x in plan.invitations if x.status != InvitationStatus.VOID) - len(drops)
    done = batch_info(repo.batch_row(session, batch_id), live, len(left_out))
    return ConfirmResult(done, lines[0], out.warnings, drops, take_out(left_out))


def take_out(left_out: list[Excluded]) -> list[str]:
    """Letters and texts that were made but are not coded: staff must not send them."""
    out = []
    for e in sorted(left_out, key=lambda e: (e.channel, e.letter_number or 0)):
        if e.letter_number is not None:
            kind = "text" if e.channel == "sms" else "letter"
            out.append(f"{kind} {e.letter_number} ({e.name}): {e.reason}")
    return out


def _write(
    session: Session,
    b: Any,
    day: dt.date,
    catalogue: Catalogue,
    record: dict[tuple[str, int], tuple[str, str]],
    out: Outcome,
) -> tuple[list[CodeLine], int]:
    """Insert the codes and settle each invitation; (code lines, codes newly recorded)."""
    lines, rows = code_rows(session, b, day, catalogue, record, out)
    repo.insert_codes(session, rows)
    changes: list[dict[str, Any]] = [
        {
            "iid": x.invitation_id,
            "status": InvitationStatus.SENT,
            "conditions": tuple(u.condition for u in kept),
            "planned": _planned(x),
            "warning": warn,
        }
        for x, kept, warn in out.keep
    ] + [
        {
            "iid": x.invitation_id,
            "status": InvitationStatus.EXCLUDED,
            "conditions": x.conditions if staff else (),
            "planned": _planned(x),
            "reason": why,
            "staff_excluded": staff,
        }
        for x, why, staff in out.dropped
    ]
    repo.settle_invitations(session, changes)
    return lines, len(rows)


def _planned(x: Invitee) -> tuple[str, ...]:
    """Every condition the invitation was planned with (its live condition rows)."""
    return tuple(c for c, _stage in x.condition_stages) or x.conditions


def _refuse_if_done_elsewhere(session: Session, b: Any) -> None:
    """An empty batch whose cohort and stage another terminal already confirmed: say so."""
    if b.kind != "monthly":
        return
    other = repo.sent_twin(session, b)
    if other is not None:
        raise Refused(
            f"nothing to confirm in batch {b.id}: the {ORDINAL[b.stage]} invitations for "
            f"{b.cohort_month} were already confirmed {done_by(other)} (batch {other.id}, "
            f"sent on {other.sent_on}); nothing recorded"
        )
