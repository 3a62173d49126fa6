"""Every SQL statement about batches, invitations and the codes a confirm records.

The batch use-cases (services/batches) load through here, decide with the domain rule and
write back through here, so the rules never see SQL and the SQL never decides anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    delete,
    extract,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from recall.domain.invitations import InvitationStatus
from recall.store.models import (
    batch_t,
    invitation_condition_t,
    invitation_t,
    patient_t,
    recorded_code_t,
    register_t,
    utcnow,
)

PATIENT_COLS = (
    patient_t.c.id,
    patient_t.c.nhs_number,
    patient_t.c.title,
    patient_t.c.given_name,
    patient_t.c.family_name,
    patient_t.c.date_of_birth,
    patient_t.c.address_line1,
    patient_t.c.address_line2,
    patient_t.c.address_line3,
    patient_t.c.address_line4,
    patient_t.c.postcode,
    patient_t.c.mobile,
    patient_t.c.email,
    patient_t.c.registered_on,
    patient_t.c.deregistered_on,
    patient_t.c.date_of_death,
    patient_t.c.recall_month,
    patient_t.c.communication_needs,
)

LIVE_STATUSES = ("planned", "sent")


@dataclass(frozen=True)
class NewInvitation:
    """One row to write when planning: a patient invited (with conditions) or left out."""

    patient_id: int
    stage: int
    conditions: tuple[tuple[str, int], ...]  # (condition, the condition's own stage)
    channel: str
    status: str  # planned | excluded
    reason: str | None = None
    staff_excluded: bool = False
    flags: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- patients


def patients_by_ids(
    session: Session, practice_id: int, ids: Collection[int], within: Select[Any] | None = None
) -> list[Any]:
    """These patients' rows (`within`: SQL selecting a superset of them, read instead of
    sending every id)."""
    if not ids:
        return []
    p = patient_t
    if within is None:
        q = select(*PATIENT_COLS).where(p.c.practice_id == practice_id, p.c.id.in_(sorted(ids)))
        return list(session.execute(q))
    wanted = set(ids)
    q = select(*PATIENT_COLS).where(p.c.practice_id == practice_id, p.c.id.in_(within))
    return [r for r in session.execute(q) if r.id in wanted]


def batch_patients(batch_id: int) -> Select[Any]:
    """SQL selecting the patients of a batch: a one-parameter stand-in for their ids."""
    return select(invitation_t.c.patient_id).where(invitation_t.c.batch_id == batch_id)


def patients_on_registers(
    session: Session, practice_id: int, *, birth_month: int | None = None
) -> list[Any]:
    """Patients on any register; with `birth_month`, only those recalled that month by birth."""
    p = patient_t
    q = select(*PATIENT_COLS).where(
        p.c.practice_id == practice_id,
        p.c.id.in_(select(register_t.c.patient_id).distinct()),
    )
    if birth_month is not None:
        q = q.where(
            or_(
                p.c.recall_month == birth_month,
                and_(
                    p.c.recall_month.is_(None), extract("month", p.c.date_of_birth) == birth_month
                ),
            )
        )
    return list(session.execute(q))


def patients_joining_registers(session: Session, practice_id: int, since: dt.date) -> list[Any]:
    """Patients with a register entry dated on or after `since` (mid-year conditions)."""
    p, rg = patient_t, register_t
    q = select(*PATIENT_COLS).where(
        p.c.practice_id == practice_id,
        p.c.id.in_(select(rg.c.patient_id).where(rg.c.diagnosed_on >= since).distinct()),
    )
    return list(session.execute(q))


def find_patient(session: Session, practice_id: int, nhs_number: str) -> int | None:
    found = session.execute(
        select(patient_t.c.id).where(
            patient_t.c.practice_id == practice_id, patient_t.c.nhs_number == nhs_number
        )
    ).scalar()
    return int(found) if found is not None else None


# ----------------------------------------------------------------------------- batches


def lock_batch(session: Session, batch_id: int) -> Any | None:
    """The batch row, locked for this transaction (None when there is no such batch)."""
    return session.execute(
        select(batch_t).where(batch_t.c.id == batch_id).with_for_update()
    ).first()


def batch_row(session: Session, batch_id: int) -> Any | None:
    return session.execute(select(batch_t).where(batch_t.c.id == batch_id)).first()


def find_planned(
    session: Session,
    *,
    practice_id: int,
    kind: str,
    stage: int,
    month: str,
    patient_id: int | None,
) -> int | None:
    """The planned batch for this cohort and stage (locked: a confirm elsewhere finishes first)."""
    b = batch_t
    q = select(b.c.id).where(
        b.c.practice_id == practice_id,
        b.c.kind == kind,
        b.c.stage == stage,
        b.c.status == "planned",
    )
    if kind == "monthly":
        q = q.where(b.c.cohort_month == month)
    else:
        q = q.where(
            b.c.id.in_(
                select(invitation_t.c.batch_id).where(invitation_t.c.patient_id == patient_id)
            )
        )
    return session.execute(q.order_by(b.c.id).with_for_update()).scalars().first()


def insert_batch(
    session: Session,
    *,
    practice_id: int,
    kind: str,
    stage: int,
    month: str,
    qof_year: int,
    send_date: dt.date,
    operator: str,
) -> int:
    inserted: Any = session.execute(
        insert(batch_t).values(
            practice_id=practice_id,
            kind=kind,
            stage=stage,
            cohort_month=month,
            qof_year=qof_year,
            planned_send_date=send_date,
            status=InvitationStatus.PLANNED,
            created_at=utcnow(),
            created_by=operator,
        )
    )
    return int(inserted.inserted_primary_key[0])


def staff_exclusions(session: Session, batch_id: int) -> dict[int, str]:
    """Patients staff unticked in this batch, with the reason they gave."""
    i = invitation_t
    q = select(i.c.patient_id, i.c.reason).where(
        i.c.batch_id == batch_id, i.c.status == "excluded", i.c.staff_excluded.is_(True)
    )
    return {pid: reason or "" for pid, reason in session.execute(q)}


def earlier_staff_exclusions(
    session: Session, batch_id: int, patient_ids: Collection[int]
) -> dict[int, tuple[int, str, dt.date]]:
    """Patients staff left out of another batch of the same practice and QOF year:
    patient -> (that batch, the reason, its send date), the latest such batch."""
    if not patient_ids:
        return {}
    i, b = invitation_t, batch_t
    this = select(b.c.practice_id, b.c.qof_year).where(b.c.id == batch_id).subquery()
    q = (
        select(i.c.patient_id, b.c.id, i.c.reason, b.c.sent_on, b.c.planned_send_date)
        .join(b, b.c.id == i.c.batch_id)
        .join(this, and_(this.c.practice_id == b.c.practice_id, this.c.qof_year == b.c.qof_year))
        .where(
            b.c.id != batch_id,
            b.c.status != "void",
            i.c.status == "excluded",
            i.c.staff_excluded.is_(True),
            i.c.patient_id.in_(sorted(set(patient_ids))),
        )
        .order_by(b.c.id)
    )
    return {
        pid: (bid, reason or "", sent or planned)
        for pid, bid, reason, sent, planned in session.execute(q)
    }


def clear_batch(session: Session, batch_id: int, send_date: dt.date, qof_year: int) -> None:
    """Empty a planned batch before it is planned again under the same id."""
    ids = select(invitation_t.c.id).where(invitation_t.c.batch_id == batch_id)
    session.execute(
        delete(invitation_condition_t).where(invitation_condition_t.c.invitation_id.in_(ids))
    )
    session.execute(delete(invitation_t).where(invitation_t.c.batch_id == batch_id))
    session.execute(
        update(batch_t)
        .where(batch_t.c.id == batch_id)
        .values(planned_send_date=send_date, qof_year=qof_year)
    )


def insert_invitations(
    session: Session, batch_id: int, qof_year: int, rows: Sequence[NewInvitation]
) -> None:
    """Write a batch's invitations and, for the planned ones, one row per invited condition."""
    if not rows:
        return
    practice = session.execute(
        select(batch_t.c.practice_id).where(batch_t.c.id == batch_id)
    ).scalar_one()
    session.execute(
        insert(invitation_t),
        [
            {
                "batch_id": batch_id,
                "practice_id": practice,
                "patient_id": r.patient_id,
                "stage": r.stage,
                "qof_year": qof_year,
                "conditions": ",".join(c for c, _s in r.conditions),
                "channel": r.channel,
                "status": r.status,
                "reason": r.reason,
                "staff_excluded": r.staff_excluded,
                "flags": ",".join(r.flags) or None,
            }
            for r in rows
        ],
    )
    ids = dict(
        session.execute(
            select(invitation_t.c.patient_id, invitation_t.c.id).where(
                invitation_t.c.batch_id == batch_id
            )
        ).all()
    )
    conds = [
        {
            "invitation_id": ids[r.patient_id],
            "practice_id": practice,
            "patient_id": r.patient_id,
            "condition": c,
            "stage": s,
            "qof_year": qof_year,
            "live": r.status == InvitationStatus.PLANNED,
        }
        for r in rows
        for c, s in r.conditions
    ]
    if conds:
        session.execute(insert(invitation_condition_t), conds)


def live_elsewhere(
    session: Session, *, qof_year: int, batch_id: int | None, patient_ids: Collection[int]
) -> dict[tuple[int, str, int], int]:
    """(patient, condition, stage) -> batch id of live invitations in other batches this year."""
    ic, i = invitation_condition_t, invitation_t
    q = (
        select(ic.c.patient_id, ic.c.condition, ic.c.stage, i.c.batch_id)
        .join(i, i.c.id == ic.c.invitation_id)
        .where(ic.c.qof_year == qof_year, ic.c.live.is_(True))
    )
    if batch_id is not None:
        q = q.where(i.c.batch_id != batch_id)
    wanted = set(patient_ids)
    return {(p, c, s): b for p, c, s, b in session.execute(q) if p in wanted}


def invitation_stages(session: Session, batch_id: int) -> dict[int, dict[str, int]]:
    """Per invitation of the batch: each invited condition's own stage."""
    ic, i = invitation_condition_t, invitation_t
    q = select(ic.c.invitation_id, ic.c.condition, ic.c.stage).where(
        ic.c.invitation_id.in_(select(i.c.id).where(i.c.batch_id == batch_id))
    )
    out: dict[int, dict[str, int]] = {}
    for iid, cond, stage in session.execute(q):
        out.setdefault(iid, {})[cond] = stage
    return out


def invitation_rows(session: Session, batch_id: int) -> list[Any]:
    """A batch's invitations with each patient's details, in name order."""
    i, p = invitation_t, patient_t
    return list(
        session.execute(
            select(
                i.c.id.label("invitation_id"),
                i.c.conditions,
                i.c.channel,
                i.c.status,
                i.c.reason,
                i.c.staff_excluded,
                i.c.flags,
                i.c.warning,
                i.c.letter_number,
                *PATIENT_COLS,
            )
            .join(p, p.c.id == i.c.patient_id)
            .where(i.c.batch_id == batch_id)
            .order_by(p.c.family_name, p.c.given_name, p.c.id)
        )
    )


def invitation_of(session: Session, batch_id: int, patient_id: int) -> Any | None:
    i = invitation_t
    return session.execute(
        select(i.c.id, i.c.status, i.c.reason, i.c.staff_excluded, i.c.conditions).where(
            i.c.batch_id == batch_id, i.c.patient_id == patient_id
        )
    ).first()


def set_invitation(
    session: Session,
    invitation_id: int,
    *,
    status: str,
    reason: str | None,
    staff_excluded: bool,
    flags: Iterable[str] = (),
) -> None:
    """Change one invitation's status; its condition rows are live only while it is."""
    session.execute(
        update(invitation_t)
        .where(invitation_t.c.id == invitation_id)
        .values(
            status=status,
            reason=reason,
            staff_excluded=staff_excluded,
            flags=",".join(flags) or None,
        )
    )
    session.execute(
        update(invitation_condition_t)
        .where(invitation_condition_t.c.invitation_id == invitation_id)
        .values(live=status in LIVE_STATUSES)
    )


def settle_invitations(session: Session, changes: Sequence[Mapping[str, Any]]) -> None:
    """Confirm's outcome per invitation: status, conditions kept, reason, warning.

    Each change: iid, status, conditions (tuple of kept condition keys), planned (every
    condition the invitation had), reason, warning, staff_excluded. Condition rows not kept
    stop being live; the rest stay as they are (live since planning).
    """
    if not changes:
        return
    session.connection().execute(
        update(invitation_t)
        .where(invitation_t.c.id == bindparam("iid"))
        .values(
            status=bindparam("new_status"),
            conditions=bindparam("new_conditions"),
            reason=bindparam("new_reason"),
            warning=bindparam("new_warning"),
            staff_excluded=bindparam("new_staff"),
        ),
        [
            {
                "iid": c["iid"],
                "new_status": c["status"],
                "new_conditions": ",".join(c["conditions"]),
                "new_reason": c.get("reason"),
                "new_warning": c.get("warning"),
                "new_staff": bool(c.get("staff_excluded")),
            }
            for c in changes
        ],
    )
    ic = invitation_condition_t
    gone = [
        {"g_iid": c["iid"], "g_cond": cond}
        for c in changes
        for cond in c["planned"]
        if c["status"] not in LIVE_STATUSES or cond not in c["conditions"]
    ]
    if gone:
        session.connection().execute(
            update(ic)
            .where(ic.c.invitation_id == bindparam("g_iid"), ic.c.condition == bindparam("g_cond"))
            .values(live=False),
            gone,
        )


def mark_sent(session: Session, batch_id: int, day: dt.date, operator: str) -> None:
    session.execute(
        update(batch_t)
        .where(batch_t.c.id == batch_id)
        .values(status="sent", sent_on=day, confirmed_at=utcnow(), confirmed_by=operator)
    )


def void_rows(session: Session, batch_id: int, operator: str, reason: str) -> tuple[int, int]:
    """Void a batch, its live invitations and codes; (invitations, codes) changed."""
    i, r, ic = invitation_t, recorded_code_t, invitation_condition_t
    inv: Any = session.execute(
        update(i)
        .where(i.c.batch_id == batch_id, i.c.status.in_(LIVE_STATUSES))
        .values(status="void")
    )
    session.execute(
        update(ic)
        .where(ic.c.invitation_id.in_(select(i.c.id).where(i.c.batch_id == batch_id)))
        .values(live=False)
    )
    codes: Any = session.execute(
        update(r).where(r.c.batch_id == batch_id, r.c.voided.is_(False)).values(voided=True)
    )
    session.execute(
        update(batch_t)
        .where(batch_t.c.id == batch_id)
        .values(status="void", voided_at=utcnow(), voided_by=operator, void_reason=reason)
    )
    return int(inv.rowcount), int(codes.rowcount)


def batch_list(
    session: Session, practice_id: int, *, status: str | None, limit: int
) -> list[tuple[Any, dict[str, int]]]:
    """Batches newest first, each with its invitation counts per status."""
    b, i = batch_t, invitation_t
    q = select(b).where(b.c.practice_id == practice_id).order_by(b.c.id.desc()).limit(limit)
    if status:
        q = q.where(b.c.status == status)
    batches = list(session.execute(q))
    if not batches:
        return []
    counts: dict[int, dict[str, int]] = {}
    for bid, st, n in session.execute(
        select(i.c.batch_id, i.c.status, func.count())
        .where(i.c.batch_id.in_([r.id for r in batches]))
        .group_by(i.c.batch_id, i.c.status)
    ):
        counts.setdefault(bid, {})[st] = n
    return [(r, counts.get(r.id, {})) for r in batches]


def live_batches(session: Session, practice_id: int) -> list[tuple[int, str, int, str]]:
    """(id, cohort month, stage, status) of monthly batches that are not void, oldest first."""
    b = batch_t
    return [
        (r.id, r.cohort_month, r.stage, r.status)
        for r in session.execute(
            select(b.c.id, b.c.cohort_month, b.c.stage, b.c.status)
            .where(b.c.practice_id == practice_id, b.c.kind == "monthly", b.c.status != "void")
            .order_by(b.c.id)
        )
    ]


def sent_monthly(session: Session, practice_id: int, months: Collection[str]) -> list[Any]:
    """Monthly batches of these recall months recorded as sent, in the order they were sent.

    Each row: id, cohort_month, stage, sent_on, `sent` (patients the batch was sent to) and
    `texts` (how many of them by text message).
    """
    if not months:
        return []
    b, i = batch_t, invitation_t
    texts = func.coalesce(func.sum(case((i.c.channel == "sms", 1), else_=0)), 0)
    return list(
        session.execute(
            select(
                b.c.id,
                b.c.cohort_month,
                b.c.stage,
                b.c.sent_on,
                func.count(i.c.id).label("sent"),
                texts.label("texts"),
            )
            .outerjoin(i, and_(i.c.batch_id == b.c.id, i.c.status == InvitationStatus.SENT))
            .where(
                b.c.practice_id == practice_id,
                b.c.kind == "monthly",
                b.c.status == "sent",
                b.c.cohort_month.in_(list(months)),
            )
            .group_by(b.c.id, b.c.cohort_month, b.c.stage, b.c.sent_on)
            .order_by(b.c.sent_on, b.c.id)
        )
    )


def made_not_sent(session: Session, practice_id: int) -> list[Any]:
    """Planned batches whose letters were made but not yet recorded as sent, oldest first.

    Each row: id, kind, stage, cohort_month, letters_made_on and `patients` (still invited).
    """
    b, i = batch_t, invitation_t
    invited = (
        select(func.count())
        .where(i.c.batch_id == b.c.id, i.c.status == InvitationStatus.PLANNED)
        .scalar_subquery()
    )
    return list(
        session.execute(
            select(
                b.c.id,
                b.c.kind,
                b.c.stage,
                b.c.cohort_month,
                b.c.letters_made_on,
                invited.label("patients"),
            )
            .where(
                b.c.practice_id == practice_id,
                b.c.status == "planned",
                b.c.letters_made_on.is_not(None),
            )
            .order_by(b.c.letters_made_on, b.c.id)
        )
    )


# ----------------------------------------------------------------------------- codes


def codes_on(session: Session, day: dt.date, patient_ids: Collection[int]) -> set[tuple[int, str]]:
    """(patient, code) already recorded live on `day`."""
    if not patient_ids:
        return set()
    r = recorded_code_t
    return {
        (p, c)
        for p, c in session.execute(
            select(r.c.patient_id, r.c.code).where(
                r.c.date == day, r.c.voided.is_(False), r.c.patient_id.in_(sorted(patient_ids))
            )
        )
    }


def insert_codes(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        session.execute(insert(recorded_code_t), list(rows))


def record_letters_made(
    session: Session, batch_id: int, day: dt.date, numbers: Mapping[int, int]
) -> None:
    """The day letters were made (a send date may not precede it) and each letter's number."""
    session.execute(
        update(batch_t)
        .where(batch_t.c.id == batch_id)
        .values(letters_made_on=day, letters_made_at=utcnow())
    )
    i = invitation_t
    session.execute(update(i).where(i.c.batch_id == batch_id).values(letter_number=None))
    if numbers:
        session.connection().execute(
            update(i).where(i.c.id == bindparam("n_iid")).values(letter_number=bindparam("n_no")),
            [{"n_iid": iid, "n_no": n} for iid, n in numbers.items()],
        )


def sent_twin(session: Session, b: Any) -> Any | None:
    """Another confirmed monthly batch for the same cohort, stage and year (newest first)."""
    q = (
        select(batch_t)
        .where(
            batch_t.c.practice_id == b.practice_id,
            batch_t.c.kind == "monthly",
            batch_t.c.stage == b.stage,
            batch_t.c.cohort_month == b.cohort_month,
            batch_t.c.qof_year == b.qof_year,
            batch_t.c.status == "sent",
            batch_t.c.id != b.id,
        )
        .order_by(batch_t.c.confirmed_at.desc())
    )
    return session.execute(q).first()
