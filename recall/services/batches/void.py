"""Voiding a batch, and the ad-hoc invitation (a one-patient batch planned and confirmed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError

from recall.domain.invitations import BatchStatus
from recall.services.batches.confirm import confirm_in
from recall.services.batches.model import BatchInfo, ConfirmResult
from recall.services.batches.plan import check_stage_arg, find_patient_id, plan_in
from recall.services.batches.read import load_plan, resolve_practice
from recall.services.errors import NotFound, RecallError, Refused
from recall.services.infra.free_text import screen_free_text
from recall.services.infra.operator import current_operator
from recall.store import batches_repo as repo
from recall.store.audit_repo import append_audit
from recall.store.db import Database


def void_batch(
    db: Database, batch_id: int, reason: str, *, operator: str | None = None
) -> BatchInfo:
    """Void a planned or sent batch: its invitations and recorded codes stop counting.

    Use it before the codes were entered in the clinical system. Nothing is deleted; the
    audit log records who voided it and why.
    """
    operator = operator or current_operator()
    reason = (reason or "").strip()
    if not reason:
        raise RecallError("give a reason for voiding the batch")
    with db.write() as session:
        reason = screen_free_text(session, reason, "the reason")
        b = repo.lock_batch(session, batch_id)
        if b is None:
            raise NotFound(f"no batch {batch_id}")
        if b.status == BatchStatus.VOID:
            raise Refused(f"batch {batch_id} is already void")
        invitations, codes = repo.void_rows(session, batch_id, operator, reason)
        append_audit(
            session,
            operator=operator,
            action="batch.void",
            practice_id=b.practice_id,
            batch_id=batch_id,
            details={
                "was": b.status,
                "reason": reason,
                "invitations": invitations,
                "codes_voided": codes,
            },
        )
        return load_plan(session, batch_id).batch


def invite_patient(
    db: Database,
    nhs_number: str,
    stage: int,
    sent_on: dt.date | None = None,
    *,
    operator: str | None = None,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> ConfirmResult:
    """Ad-hoc invitation: a one-patient batch planned and confirmed as sent on `sent_on`.

    Plan and confirm run in one transaction, through the same rule as a monthly batch: when
    either refuses, nothing at all is written (no batch is left behind).
    """
    check_stage_arg(stage)
    operator = operator or current_operator()
    today = today or dt.date.today()
    day = sent_on or today
    if day > today:
        raise Refused(f"the send date {day.isoformat()} is in the future")
    try:
        with db.write() as session:
            pid = resolve_practice(session, practice_id)
            patient_id = find_patient_id(session, pid, nhs_number)
            plan, _seen = plan_in(
                session,
                kind="adhoc",
                stage=stage,
                month=f"{day.year:04d}-{day.month:02d}",
                send_date=day,
                patient_ids=[patient_id],
                operator=operator,
                practice_id=pid,
            )
            return confirm_in(
                session,
                plan.batch.id,
                day,
                exclude=(),
                exclude_ids=(),
                operator=operator,
                today=today,
            )
    except IntegrityError:
        raise Refused(
            "another terminal invited this patient at the same time: nothing was recorded here"
        ) from None
