"""The monthly run as the terminal UI shows it: the review list, and the codes a confirm will
record, read through the batch engine (no rules of its own beyond choosing what to show).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from recall.domain.invitations import ORDINAL, InvitationStatus
from recall.domain.qof_year import qof_year_of
from recall.domain.recall_month import age_on
from recall.services.batches import (
    BatchInfo,
    BatchPlan,
    as_made_note,
    get_batch,
    plan_batch,
    set_excluded,
)
from recall.services.batches.codes import preview_codes
from recall.services.catalogue import load_catalogue
from recall.services.infra.free_text import IdentifyingText, screen_free_text
from recall.store.batches_repo import earlier_staff_exclusions
from recall.store.db import Database
from recall.store.models import batch_t, patient_t


@dataclass(frozen=True)
class ReviewRow:
    """One patient in the review table: invited (ticked) or left out by staff (unticked)."""

    patient_id: int
    nhs_number: str
    name: str
    sort_name: str
    age: int | None
    conditions: tuple[str, ...]
    channel: str
    needs: tuple[str, ...]
    flags: tuple[str, ...]
    included: bool
    reason: str = ""  # why staff left them out
    earlier: str = ""  # staff left them out of another batch this year: when and why


@dataclass(frozen=True)
class NotDueRow:
    """A patient in the cohort the rules left out, with the plain reason."""

    patient_id: int
    nhs_number: str
    name: str
    reason: str
    waiting_until: dt.date | None


@dataclass(frozen=True)
class Review:
    batch: BatchInfo
    rows: list[ReviewRow]
    not_due: list[NotDueRow]
    warnings: list[str]
    condition_names: dict[str, str]
    note: str | None = None  # e.g. why a list whose letters were made does not change


@dataclass(frozen=True)
class PlannedCode:
    """A code a confirm will record: for `count` patients, all dated the send day."""

    code: str
    term: str
    condition: str | None  # None: the letter (stage) code or the generic code
    label: str  # "1st letter code", "Hypertension"
    count: int


def _batch_practice(session: Session, batch_id: int) -> int:
    """The practice a batch belongs to: its catalogue names its conditions and codes."""
    return int(
        session.execute(select(batch_t.c.practice_id).where(batch_t.c.id == batch_id)).scalar_one()
    )


def _review(db: Database, plan: BatchPlan, today: dt.date) -> Review:
    staff = [e for e in plan.excluded if e.by_staff]
    extra: dict[int, tuple[dt.date, str, str | None]] = {}
    if staff:
        p = patient_t
        with db.read() as session:
            for pid, dob, needs, mobile in session.execute(
                select(p.c.id, p.c.date_of_birth, p.c.communication_needs, p.c.mobile).where(
                    p.c.id.in_([e.patient_id for e in staff])
                )
            ):
                extra[pid] = (dob, needs or "", mobile)
    with db.read() as session:
        catalogue = load_catalogue(session, _batch_practice(session, plan.batch.id))
        before = earlier_staff_exclusions(
            session, plan.batch.id, [x.patient_id for x in plan.invitations]
        )
    names = {c.key: c.name for c in catalogue}
    rows = [
        ReviewRow(
            patient_id=x.patient_id,
            nhs_number=x.nhs_number,
            name=x.name,
            sort_name=f"{x.family_name} {x.given_name}".casefold(),
            age=x.age,
            conditions=x.conditions,
            channel=x.channel,
            needs=x.needs,
            flags=x.flags,
            included=True,
            earlier=_earlier(before.get(x.patient_id)),
        )
        for x in plan.invitations
        if x.status == "planned"
    ]
    for e in staff:
        dob, needs, _mobile = extra.get(e.patient_id, (None, "", None))
        rows.append(
            ReviewRow(
                patient_id=e.patient_id,
                nhs_number=e.nhs_number,
                name=e.name,
                sort_name=f"{e.family_name} {e.given_name}".casefold(),
                age=age_on(dob, today) if dob else None,
                conditions=e.conditions,
                channel="letter",
                needs=tuple(n.strip() for n in needs.split(";") if n.strip()),
                flags=(),
                included=False,
                reason=e.reason,
            )
        )
    rows.sort(key=lambda r: (r.sort_name, r.patient_id))
    not_due = [
        NotDueRow(e.patient_id, e.nhs_number, e.name, e.reason, e.waiting_until)
        for e in plan.excluded
        if not e.by_staff
    ]
    return Review(plan.batch, rows, not_due, list(plan.warnings), names, as_made_note(plan.batch))


def _earlier(found: tuple[int, str, dt.date] | None) -> str:
    """Plain words for a patient staff left out of another batch this year."""
    if found is None:
        return ""
    batch_id, reason, day = found
    return (
        f"left out of batch {batch_id} ({day.day} {day:%b %Y}) by staff: {reason}. They are "
        "still due, so they are listed again: untick them if that still applies"
    )


def open_review(
    db: Database,
    stage: int,
    month: str,
    *,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> Review:
    """Plan (or re-plan, keeping staff's unticks) the batch and return the review list.

    A list whose letters were made (and are not recorded as sent yet) is not planned again:
    it is shown as it was when they were made, the list of who got them (see plan_in)."""
    today = today or dt.date.today()
    plan = plan_batch(db, stage, month, today, today=today, practice_id=practice_id)
    return _review(db, plan, today)


def reopen_review(db: Database, batch_id: int, *, today: dt.date | None = None) -> Review:
    """The review list of an existing batch, without re-planning it."""
    return _review(db, get_batch(db, batch_id), today or dt.date.today())


def set_included(
    db: Database, batch_id: int, patient_id: int, included: bool, reason: str = ""
) -> None:
    """Tick (included) or untick (left out, with the reason staff gave) one patient."""
    set_excluded(db, batch_id, patient_id, not included, reason)


def codes_to_record(
    db: Database,
    batch_id: int,
    *,
    leave_out: frozenset[int] = frozenset(),
    sent_on: dt.date | None = None,
) -> list[PlannedCode]:
    """The codes confirming this batch on `sent_on` would record, with how many patients get
    each: the confirm use-case's own list (nothing written), so what the screen shows is what
    is recorded. A condition without a record code shows as "(no code)"."""
    rows, missing = preview_codes(db, batch_id, sent_on, leave_out=leave_out)
    with db.read() as session:
        catalogue = load_catalogue(session, _batch_practice(session, batch_id))
    generic = catalogue.profile.generic_record_code
    stage_codes = {sc.code: n for n, sc in catalogue.profile.stage_codes.items()}
    count: Counter[tuple[str, str | None]] = Counter((r["code"], r["condition"]) for r in rows)
    terms = {(r["code"], r["condition"]): r["term"] for r in rows}
    out: list[PlannedCode] = []
    for (code, cond), n in sorted(count.items(), key=lambda kv: (kv[0][1] is not None, kv[0])):
        if cond is not None:
            c = catalogue.get(cond)
            label = c.name if c else cond
        elif code in stage_codes:
            label = f"{ORDINAL[stage_codes[code]]} letter code"
        elif generic is not None and code == generic.code:
            label = "generic code"
        else:
            label = code
        out.append(PlannedCode(code, terms[(code, cond)], cond, label, n))
    for cond, n in sorted(missing.items()):
        c = catalogue.get(cond)
        out.append(PlannedCode("(no code)", "", cond, c.name if c else cond, n))
    return out


@dataclass(frozen=True)
class UncodedCondition:
    """A condition in the batch whose invitations need no QOF code on the send day, so its
    patients get only the letter (stage) code: the confirm screen says so in words."""

    name: str
    count: int  # patients in the batch with it
    since: str  # the first QOF year with no code for it in a row up to the send day's ("2025/26")


def uncoded_conditions(
    db: Database,
    batch_id: int,
    *,
    leave_out: frozenset[int] = frozenset(),
    sent_on: dt.date | None = None,
) -> list[UncodedCondition]:
    """The batch's conditions (among the patients still to record) that need no QOF invite
    code when sent on `sent_on`, e.g. depression from 2025/26."""
    plan = get_batch(db, batch_id)
    day = sent_on or plan.batch.planned_send_date
    with db.read() as session:
        catalogue = load_catalogue(session, _batch_practice(session, batch_id))
    count: Counter[str] = Counter(
        c.upper()
        for x in plan.invitations
        if x.status == InvitationStatus.PLANNED and x.patient_id not in leave_out
        for c in set(x.conditions)
        if not catalogue.invite_code_needed(c, day)
    )
    out = []
    for key, n in sorted(count.items()):
        year = qof_year_of(day)
        first = min(catalogue.years, default=year.start_year)
        while year.start_year > first and not catalogue.invite_code_needed(
            key, year.previous().start
        ):
            year = year.previous()
        c = catalogue.get(key)
        out.append(UncodedCondition(c.name if c else key, n, year.label))
    return out


def reason_problem(db: Database, reason: str) -> str:
    """Why saving this untick reason would be refused (a patient's name, an NHS number…),
    or "" when it is fine: the dialog says so and stays open with the text."""
    with db.read() as session:
        try:
            screen_free_text(session, reason or "unticked by staff", "the reason")
        except IdentifyingText as exc:
            return str(exc)
    return ""
