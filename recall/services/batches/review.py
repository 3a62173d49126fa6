"""Staff review of a planned batch: untick a patient (with a reason) or tick them again."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from recall.domain.invitations import BatchStatus, InvitationStatus, late_in_year
from recall.services.batches.model import BatchPlan
from recall.services.batches.read import load_plan
from recall.services.errors import NotFound, Refused
from recall.services.infra.free_text import screen_free_text
from recall.services.infra.operator import current_operator
from recall.services.settings import get_settings
from recall.store import batches_repo as repo
from recall.store.audit_repo import append_audit
from recall.store.db import Database


def set_excluded(
    db: Database,
    batch_id: int,
    patient_id: int,
    excluded: bool,
    reason: str = "",
    *,
    operator: str | None = None,
) -> BatchPlan:
    """Untick (excluded=True, with a reason) or tick again a patient in a planned batch.

    Only patients staff unticked can be ticked again; the rule's exclusions stay.
    """
    operator = operator or current_operator()
    try:
        with db.write() as session:
            b = repo.lock_batch(session, batch_id)
            if b is None:
                raise NotFound(f"no batch {batch_id}")
            if b.status != BatchStatus.PLANNED:
                raise Refused(f"batch {batch_id} is {b.status}: only a planned batch can change")
            row = repo.invitation_of(session, batch_id, patient_id)
            if row is None:
                raise NotFound(f"patient {patient_id} is not in batch {batch_id}")
            if excluded == (row.status == InvitationStatus.EXCLUDED):
                return load_plan(session, batch_id)
            if excluded:
                text = screen_free_text(session, reason or "excluded by staff", "the reason")
                repo.set_invitation(
                    session,
                    row.id,
                    status=InvitationStatus.EXCLUDED,
                    reason=text,
                    staff_excluded=True,
                )
                action = "batch.exclude"
            else:
                if not row.staff_excluded:
                    raise Refused(f"cannot include this patient: {row.reason}")
                interval = get_settings(session, b.practice_id).stage_interval_days
                late = b.stage == 1 and late_in_year(b.planned_send_date, interval)
                repo.set_invitation(
                    session,
                    row.id,
                    status=InvitationStatus.PLANNED,
                    reason=None,
                    staff_excluded=False,
                    flags=["late_in_year"] if late else [],
                )
                action = "batch.include"
            append_audit(
                session,
                operator=operator,
                action=action,
                practice_id=b.practice_id,
                batch_id=batch_id,
                details={"patient_id": patient_id, "invitation_id": row.id},
            )
            return load_plan(session, batch_id)
    except IntegrityError:
        raise Refused(
            "this patient is already in another live batch for this invitation this year"
        ) from None


def exclude_patient(
    db: Database, batch_id: int, patient_id: int, reason: str, *, operator: str | None = None
) -> BatchPlan:
    """Untick a patient in a planned batch, with the reason staff gave."""
    return set_excluded(db, batch_id, patient_id, True, reason, operator=operator)


def include_patient(
    db: Database, batch_id: int, patient_id: int, *, operator: str | None = None
) -> BatchPlan:
    """Tick again a patient staff had unticked in a planned batch."""
    return set_excluded(db, batch_id, patient_id, False, operator=operator)
