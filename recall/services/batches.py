"""Invitation batches: plan who is due, let staff untick people, confirm "sent", or void.

A batch is one stage (1st/2nd/3rd invitation) for one recall cohort (the month patients are
recalled in). Planning is repeatable: re-planning a cohort and stage that has a planned batch
re-plans that batch under the same id. Confirming records, in one transaction, the LTC stage
code and one condition-specific QOF invite code per invited condition, all dated the day the
invitations went out; the 7-day rule is checked again then. Voiding reverses a batch whose
codes have not been entered in the clinical system; the audit log keeps everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, bindparam, delete, extract, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue
from recall.domain.eligibility import (
    ORDINAL,
    GapCheck,
    Level,
    check_gap,
    check_stage,
    late_in_year,
    progress,
    stage_decision,
)
from recall.domain.nhs import InvalidNhsNumber, mask_nhs_number, normalise_nhs_number
from recall.domain.pca import MIN_GAP_DAYS
from recall.domain.qof_year import QofYear, parse_month, qof_year_of
from recall.domain.recall_month import age_on, recall_month
from recall.services.catalogue import load_catalogue
from recall.services.errors import NotFound, RecallError, Refused
from recall.services.free_text import screen_free_text
from recall.services.history import History, RegisterEntry, load_history, load_registers
from recall.services.operator import current_operator
from recall.services.settings import PracticeSettings, get_settings
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.journal_repo import iter_coded_entries
from recall.store.locks import lock_for_transaction
from recall.store.models import (
    batch_t,
    invitation_t,
    patient_t,
    recorded_code_t,
    register_t,
    utcnow,
)
from recall.store.practice_repo import get_or_create_practice

STAFF_PREFIX = "staff:"
FLAGS_PREFIX = "flags:"
WARNING_PREFIX = "warning:"
HOME_VISIT_NEEDS = ("housebound", "care_home")


# ----------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class BatchInfo:
    """One batch as staff see it in lists."""

    id: int
    kind: str  # monthly | adhoc
    stage: int
    month: str  # recall cohort, YYYY-MM
    qof_year: int  # start year of the QOF year (2026 = 2026/27)
    planned_send_date: dt.date
    status: str  # planned | sent | void
    sent_on: dt.date | None = None
    created_at: dt.datetime | None = None
    created_by: str = ""
    confirmed_at: dt.datetime | None = None
    confirmed_by: str | None = None
    voided_at: dt.datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None
    letters_dir: str | None = None
    invited: int = 0  # invitations planned or sent
    excluded: int = 0


@dataclass(frozen=True)
class Invitee:
    """One patient invited in a batch, with what the letter and the review table need."""

    invitation_id: int
    patient_id: int
    nhs_number: str
    title: str | None
    given_name: str
    family_name: str
    date_of_birth: dt.date
    age: int
    address: tuple[str, ...]
    postcode: str | None
    mobile: str | None
    email: str | None
    conditions: tuple[str, ...]
    channel: str  # letter | sms | email | phone
    needs: tuple[str, ...]
    flags: tuple[str, ...]  # late_in_year, no_address, no_letter, ...
    status: str  # planned | sent | void
    warning: str | None = None  # accepted at confirm with this warning

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class Excluded:
    """A patient considered for the batch but left out, and why (in plain words)."""

    patient_id: int
    nhs_number: str
    given_name: str
    family_name: str
    reason: str
    conditions: tuple[str, ...] = ()  # the conditions that were due (staff exclusions)
    by_staff: bool = False  # staff unticked them: they can be ticked again
    invitation_id: int | None = None
    waiting_until: dt.date | None = None  # waiting for the stage interval until this date

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class BatchPlan:
    """A batch with its invitations and exclusions (plan_batch and get_batch return this)."""

    batch: BatchInfo
    invitations: list[Invitee]
    excluded: list[Excluded]
    warnings: list[str] = field(default_factory=list)  # e.g. blocked conditions


@dataclass(frozen=True)
class CodeLine:
    """A code the tool recorded: what must also be entered in the clinical system."""

    patient_id: int
    nhs_number: str
    given_name: str
    family_name: str
    code: str
    term: str
    date: dt.date
    condition: str | None  # None for the LTC stage code and the generic code
    stage: int | None


@dataclass(frozen=True)
class ConfirmResult:
    batch: BatchInfo
    codes: list[CodeLine]
    warnings: list[dict[str, str]]  # {nhs_number, patient_id, condition, reason}
    dropped: list[Excluded]  # died / left / reviewed / excluded at confirm


# ----------------------------------------------------------------------------- helpers


def _split_needs(raw: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (raw or "").split(";") if n.strip())


def _channel(
    settings: PracticeSettings, mobile: str | None, email: str | None, needs: Sequence[str]
) -> str:
    """Letter by default; SMS when the practice uses it and the patient can get one."""
    can_sms = bool(mobile and mobile.strip()) and "no_sms" not in needs
    if "no_letter" in needs:
        if can_sms:
            return "sms"
        return "email" if email else "phone"
    return "sms" if settings.sms_enabled and can_sms else "letter"


def _encode(flags: Iterable[str] = (), warning: str | None = None) -> str | None:
    parts = []
    names = [f for f in flags if f]
    if names:
        parts.append(FLAGS_PREFIX + ",".join(names))
    if warning:
        parts.append(WARNING_PREFIX + warning)
    return "|".join(parts) or None


def _decode(reason: str | None) -> tuple[tuple[str, ...], str | None]:
    flags: tuple[str, ...] = ()
    warning = None
    for part in (reason or "").split("|"):
        if part.startswith(FLAGS_PREFIX):
            flags = tuple(f for f in part[len(FLAGS_PREFIX) :].split(",") if f)
        elif part.startswith(WARNING_PREFIX):
            warning = part[len(WARNING_PREFIX) :]
    return flags, warning


def _resolve_practice(session: Session, practice_id: int | None) -> int:
    pid = practice_id or get_or_create_practice(session).id
    assert pid is not None
    return pid


def _batch_info(row: Any, invited: int = 0, excluded: int = 0) -> BatchInfo:
    return BatchInfo(
        id=row.id,
        kind=row.kind,
        stage=row.stage,
        month=row.cohort_month,
        qof_year=row.qof_year,
        planned_send_date=row.planned_send_date,
        status=row.status,
        sent_on=row.sent_on,
        created_at=row.created_at,
        created_by=row.created_by,
        confirmed_at=row.confirmed_at,
        confirmed_by=row.confirmed_by,
        voided_at=row.voided_at,
        voided_by=row.voided_by,
        void_reason=row.void_reason,
        letters_dir=row.letters_dir,
        invited=invited,
        excluded=excluded,
    )


def _invitation_dates(
    hist: History, pid: int, cond: str, entry: RegisterEntry
) -> tuple[set[dt.date], dict[int, set[dt.date]]]:
    """Condition invites plus stage/generic invites sent while on this register."""
    since = entry.diagnosed_on
    dates = set(hist.invites(pid, cond))
    dates |= {d for d in hist.generic_dates(pid) if since is None or d >= since}
    stages = {
        n: {d for d in days if since is None or d >= since}
        for n, days in hist.stage_dates(pid).items()
    }
    return dates, stages


# ----------------------------------------------------------------------------- planning


@dataclass
class _Decision:
    patient: Any
    due: list[str]
    reason: str = ""
    flags: list[str] = field(default_factory=list)
    waiting_until: dt.date | None = None


def _decide(
    *,
    patients: Sequence[Any],
    registers: dict[int, list[RegisterEntry]],
    hist: History,
    catalogue: Catalogue,
    stage: int,
    send_date: dt.date,
    interval: int,
    live_elsewhere: dict[int, int],
) -> tuple[list[_Decision], dict[str, str]]:
    """Due conditions or the reason for leaving out, for each candidate patient."""
    year = hist.year
    ready = {c.key: c.readiness(catalogue.profile) for c in catalogue}
    blocked: dict[str, str] = {}
    out: list[_Decision] = []
    for p in patients:
        entries = [
            e
            for e in registers.get(p.id, [])
            if e.condition in catalogue.conditions and e.active_on(send_date)
        ]
        if not entries:
            continue
        if p.date_of_death is not None and p.date_of_death <= send_date:
            out.append(_Decision(p, [], f"died on {p.date_of_death.isoformat()}"))
            continue
        if p.deregistered_on is not None and p.deregistered_on <= send_date:
            out.append(_Decision(p, [], f"left the practice on {p.deregistered_on.isoformat()}"))
            continue
        if p.registered_on is not None and p.registered_on > send_date:
            out.append(_Decision(p, [], f"registers on {p.registered_on.isoformat()}"))
            continue
        due: list[str] = []
        reasons: list[str] = []
        waiting: dt.date | None = None
        for e in sorted(entries, key=lambda e: e.condition):
            cond = e.condition
            r = ready[cond]
            if not r.ready:
                blocked[cond] = r.reason
                reasons.append(f"{cond}: {r.reason}")
                continue
            declined = sorted(hist.declines(p.id, cond))
            if declined:
                reasons.append(f"{cond}: declined or unsuitable (coded {declined[-1].isoformat()})")
                continue
            reviews = sorted(d for d in hist.reviews(p.id, cond) if d <= send_date)
            if reviews:
                reasons.append(f"{cond}: reviewed this year ({reviews[-1].isoformat()})")
                continue
            resp = hist.responses.get((p.id, cond))
            if resp is not None:
                reasons.append(f"{cond}: {resp[0]} on {resp[1].isoformat()}")
                continue
            dates, stages = _invitation_dates(hist, p.id, cond, e)
            decision = stage_decision(stage, progress(dates, stages), send_date, interval)
            if decision.due:
                due.append(cond)
            else:
                reasons.append(f"{cond}: {decision.reason}")
                if decision.earliest is not None:
                    waiting = min(waiting or decision.earliest, decision.earliest)
        needs = _split_needs(p.communication_needs)
        home = [n for n in needs if n in HOME_VISIT_NEEDS]
        if due and home:
            out.append(_Decision(p, [], f"{home[0].replace('_', ' ')}: arrange a visit instead"))
            continue
        if due and p.id in live_elsewhere:
            out.append(
                _Decision(
                    p,
                    [],
                    f"already in batch {live_elsewhere[p.id]} for the {ORDINAL[stage]} "
                    "invitation this year",
                )
            )
            continue
        if not due:
            if reasons:
                out.append(_Decision(p, [], "; ".join(reasons), waiting_until=waiting))
            continue
        flags: list[str] = []
        if stage == 1 and late_in_year(send_date, interval, year):
            flags.append("late_in_year")
        out.append(_Decision(p, due, flags=flags))
    return out, blocked


_PATIENT_COLS = (
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


def _last_reviews(
    session: Session, practice_id: int, catalogue: Catalogue, before: dt.date
) -> dict[int, dt.date]:
    """Latest review of any condition in the 2 years before `before` (anniversary rule)."""
    codes = {c for cond in catalogue for c in cond.review_codes}
    out: dict[int, dt.date] = {}
    for pid, day, _code, _origin in iter_coded_entries(
        session,
        practice_id=practice_id,
        codes=codes,
        start=before - dt.timedelta(days=731),
        end=before,
    ):
        if day > out.get(pid, dt.date.min):
            out[pid] = day
    return out


def _cohort(
    session: Session,
    *,
    practice_id: int,
    settings: PracticeSettings,
    catalogue: Catalogue,
    month: int,
    send_date: dt.date,
    patient_ids: Sequence[int] | None,
) -> list[Any]:
    """Patients on any register whose recall month is `month` (all given ids for ad hoc)."""
    p = patient_t
    q = select(*_PATIENT_COLS).where(p.c.practice_id == practice_id)
    if patient_ids is not None:
        q = q.where(p.c.id.in_(list(patient_ids)))
        return list(session.execute(q))
    q = q.where(p.c.id.in_(select(register_t.c.patient_id).distinct()))
    if settings.recall_rule == "birth_month":
        # the common rule, filtered in SQL; the exact rule is applied again below
        q = q.where(
            or_(
                p.c.recall_month == month,
                and_(p.c.recall_month.is_(None), extract("month", p.c.date_of_birth) == month),
            )
        )
    rows = list(session.execute(q))
    last_review: dict[int, dt.date] = {}
    if settings.recall_rule == "review_anniversary":
        last_review = _last_reviews(session, practice_id, catalogue, send_date)
    return [
        r
        for r in rows
        if recall_month(
            date_of_birth=r.date_of_birth,
            rule=settings.recall_rule,
            override=r.recall_month,
            last_review=last_review.get(r.id),
        )
        == month
    ]


def _live_elsewhere(
    session: Session, *, stage: int, year: QofYear, batch_id: int | None, patient_ids: set[int]
) -> dict[int, int]:
    """Patients with a live invitation at this stage this year in another batch."""
    i = invitation_t
    q = select(i.c.patient_id, i.c.batch_id).where(
        i.c.stage == stage,
        i.c.qof_year == year.start_year,
        i.c.status.in_(("planned", "sent")),
    )
    if batch_id is not None:
        q = q.where(i.c.batch_id != batch_id)
    return {pid: bid for pid, bid in session.execute(q) if pid in patient_ids}


@dataclass(frozen=True)
class Cohort:
    """A recall month's patients with their registers and this year's history, loaded once."""

    patients: list[Any]
    registers: dict[int, list[RegisterEntry]]
    hist: History
    year: QofYear


def load_cohort(
    session: Session,
    *,
    practice_id: int,
    settings: PracticeSettings,
    catalogue: Catalogue,
    month: int,
    send_date: dt.date,
    patient_ids: Sequence[int] | None = None,
) -> Cohort:
    """Everything the stage rules need about one recall month (read only)."""
    year = qof_year_of(send_date)
    patients = _cohort(
        session,
        practice_id=practice_id,
        settings=settings,
        catalogue=catalogue,
        month=month,
        send_date=send_date,
        patient_ids=patient_ids,
    )
    ids = {p.id for p in patients}
    registers = load_registers(session, practice_id=practice_id, patient_ids=ids)
    hist = load_history(
        session, practice_id=practice_id, catalogue=catalogue, year=year, patient_ids=ids
    )
    return Cohort(patients, registers, hist, year)


def decide_stage(
    session: Session,
    cohort: Cohort,
    *,
    catalogue: Catalogue,
    stage: int,
    send_date: dt.date,
    interval: int,
    batch_id: int | None = None,
) -> tuple[list[_Decision], dict[str, str]]:
    """Who in the cohort is due this stage on `send_date`, and why the others are not.

    The same decisions `plan_batch` makes; `batch_id` is the planned batch being re-planned
    (its own invitations do not count as "already invited elsewhere").
    """
    elsewhere = _live_elsewhere(
        session,
        stage=stage,
        year=cohort.year,
        batch_id=batch_id,
        patient_ids={p.id for p in cohort.patients},
    )
    return _decide(
        patients=cohort.patients,
        registers=cohort.registers,
        hist=cohort.hist,
        catalogue=catalogue,
        stage=stage,
        send_date=send_date,
        interval=interval,
        live_elsewhere=elsewhere,
    )


def _find_planned(
    session: Session,
    *,
    practice_id: int,
    kind: str,
    stage: int,
    month: str,
    patient_id: int | None,
) -> int | None:
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
    # FOR UPDATE: a batch being confirmed right now is waited for, then seen as sent
    return session.execute(q.order_by(b.c.id).with_for_update()).scalars().first()


def plan_batch(
    db: Database,
    stage: int,
    month: str,
    send_date: dt.date | None = None,
    *,
    operator: str | None = None,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> BatchPlan:
    """Plan (or re-plan) the batch for one recall cohort (`month`, YYYY-MM) and stage.

    Stage 1: living, registered patients on a ready register whose recall month it is, for
    each condition not reviewed, declined, answered or already invited this year. Stages 2 and
    3: those whose previous invitation (recorded here or imported) went at least the stage
    interval before `send_date` (default today). Everyone considered but left out is listed in
    `excluded` with a plain reason. A planned batch for the same cohort and stage is re-planned
    under its id (staff exclusions kept); there is never a second live batch for them.
    """
    check_stage_arg(stage)
    try:
        _y, m = parse_month(month)
    except ValueError as exc:
        raise RecallError(str(exc)) from None
    month = f"{_y:04d}-{m:02d}"
    send = send_date or today or dt.date.today()
    return _plan(
        db,
        kind="monthly",
        stage=stage,
        month=month,
        month_number=m,
        send_date=send,
        patient_ids=None,
        operator=operator,
        practice_id=practice_id,
    )


def plan_adhoc(
    db: Database,
    nhs_number: str,
    stage: int,
    send_date: dt.date | None = None,
    *,
    operator: str | None = None,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> BatchPlan:
    """Plan a one-patient ("adhoc") batch: the same rules as a monthly batch, any month.

    For ad-hoc invitations the previous stage need only be 7 days old (the confirm step warns
    below the stage interval). Refused, with nothing written, when the patient is not due.
    """
    check_stage_arg(stage)
    send = send_date or today or dt.date.today()
    with db.read() as session:
        pid = _resolve_practice(session, practice_id)
        patient_id = find_patient_id(session, pid, nhs_number)
    return _plan(
        db,
        kind="adhoc",
        stage=stage,
        month=f"{send.year:04d}-{send.month:02d}",
        month_number=send.month,
        send_date=send,
        patient_ids=[patient_id],
        operator=operator,
        practice_id=practice_id,
    )


def check_stage_arg(stage: int) -> None:
    """A stage other than 1, 2 or 3 is a one-line user error, not a crash."""
    try:
        check_stage(stage)
    except ValueError as exc:
        raise RecallError(str(exc)) from None


def find_patient_id(session: Session, practice_id: int, nhs_number: str) -> int:
    """The patient's id, or NotFound (the message never shows the whole number)."""
    try:
        nhs = normalise_nhs_number(nhs_number)
    except InvalidNhsNumber as exc:
        raise RecallError(f"not a valid NHS number: {exc}") from None
    found = session.execute(
        select(patient_t.c.id).where(
            patient_t.c.practice_id == practice_id, patient_t.c.nhs_number == nhs
        )
    ).scalar()
    if found is None:
        raise NotFound(f"no patient with NHS number {mask_nhs_number(nhs)}")
    return int(found)


def _plan(
    db: Database,
    *,
    kind: str,
    stage: int,
    month: str,
    month_number: int,
    send_date: dt.date,
    patient_ids: list[int] | None,
    operator: str | None,
    practice_id: int | None,
) -> BatchPlan:
    operator = operator or current_operator()
    year = qof_year_of(send_date)
    try:
        with db.write() as session:
            pid = _resolve_practice(session, practice_id)
            # two terminals planning one cohort and stage: the second waits, then re-plans
            lock_for_transaction(session, "plan", pid, kind, stage, month, patient_ids)
            # lock the planned batch first: a confirm or void in another terminal finishes
            # before we read who is due, so we never re-plan a batch that was just sent
            existing = _find_planned(
                session,
                practice_id=pid,
                kind=kind,
                stage=stage,
                month=month,
                patient_id=patient_ids[0] if patient_ids else None,
            )
            settings = get_settings(session, pid)
            catalogue = load_catalogue(session, pid)
            interval = MIN_GAP_DAYS if kind == "adhoc" else settings.stage_interval_days
            cohort = load_cohort(
                session,
                practice_id=pid,
                settings=settings,
                catalogue=catalogue,
                month=month_number,
                send_date=send_date,
                patient_ids=patient_ids,
            )
            decisions, blocked = decide_stage(
                session,
                cohort,
                catalogue=catalogue,
                stage=stage,
                send_date=send_date,
                interval=interval,
                batch_id=existing,
            )
            if kind == "adhoc":
                d = decisions[0] if decisions else None
                if d is None:
                    raise Refused("the patient is not on any condition register")
                if not d.due:
                    raise Refused(
                        f"not due a {ORDINAL[stage]} invitation: {d.reason}",
                        [
                            {
                                "nhs_number": d.patient.nhs_number,
                                "patient_id": str(d.patient.id),
                                "reason": d.reason,
                            }
                        ],
                    )
            staff: dict[int, str] = {}
            now = utcnow()
            if existing is not None:
                i = invitation_t
                for p_id, reason in session.execute(
                    select(i.c.patient_id, i.c.reason).where(
                        i.c.batch_id == existing,
                        i.c.status == "excluded",
                        i.c.reason.like(STAFF_PREFIX + "%"),
                    )
                ):
                    staff[p_id] = reason
                session.execute(delete(i).where(i.c.batch_id == existing))
                session.execute(
                    update(batch_t)
                    .where(batch_t.c.id == existing)
                    .values(planned_send_date=send_date, qof_year=year.start_year)
                )
                batch_id = existing
            else:
                inserted: Any = session.execute(
                    insert(batch_t).values(
                        practice_id=pid,
                        kind=kind,
                        stage=stage,
                        cohort_month=month,
                        qof_year=year.start_year,
                        planned_send_date=send_date,
                        status="planned",
                        created_at=now,
                        created_by=operator,
                    )
                )
                batch_id = int(inserted.inserted_primary_key[0])
            rows = []
            for d in decisions:
                p = d.patient
                if d.due:
                    needs = _split_needs(p.communication_needs)
                    channel = _channel(settings, p.mobile, p.email, needs)
                    flags = list(d.flags)
                    if channel == "letter" and not (p.address_line1 or p.postcode):
                        flags.append("no_address")
                    if "no_letter" in needs:
                        flags.append("no_letter")
                    if p.id in staff:
                        status, reason = "excluded", staff[p.id]
                    else:
                        status, reason = "planned", _encode(flags)
                    conds = ",".join(d.due)
                else:
                    channel, status, reason, conds = "letter", "excluded", d.reason, ""
                rows.append(
                    {
                        "batch_id": batch_id,
                        "patient_id": p.id,
                        "stage": stage,
                        "qof_year": year.start_year,
                        "conditions": conds,
                        "channel": channel,
                        "status": status,
                        "reason": reason,
                    }
                )
            if rows:
                session.execute(insert(invitation_t), rows)
            planned = sum(1 for r in rows if r["status"] == "planned")
            append_audit(
                session,
                operator=operator,
                action="batch.replan" if existing is not None else "batch.plan",
                practice_id=pid,
                batch_id=batch_id,
                details={
                    "kind": kind,
                    "stage": stage,
                    "month": month,
                    "send_date": send_date.isoformat(),
                    "invited": planned,
                    "excluded": len(rows) - planned,
                    "blocked_conditions": sorted(blocked),
                },
            )
            plan = _load_plan(session, batch_id)
            waiting = {d.patient.id: d.waiting_until for d in decisions if d.waiting_until}
    except IntegrityError:
        raise Refused(
            "another terminal planned or confirmed some of these patients at the same time: "
            "plan again"
        ) from None
    excluded = [
        replace(e, waiting_until=waiting.get(e.patient_id)) if e.patient_id in waiting else e
        for e in plan.excluded
    ]
    warnings = [f"{c}: not invited, {why}" for c, why in sorted(blocked.items())]
    return replace(plan, excluded=excluded, warnings=warnings)


# ----------------------------------------------------------------------------- reading


def _load_plan(session: Session, batch_id: int) -> BatchPlan:
    b = session.execute(select(batch_t).where(batch_t.c.id == batch_id)).first()
    if b is None:
        raise NotFound(f"no batch {batch_id}")
    i, p = invitation_t, patient_t
    rows = session.execute(
        select(
            i.c.id.label("invitation_id"),
            i.c.conditions,
            i.c.channel,
            i.c.status,
            i.c.reason,
            *_PATIENT_COLS,
        )
        .join(p, p.c.id == i.c.patient_id)
        .where(i.c.batch_id == batch_id)
        .order_by(p.c.family_name, p.c.given_name, p.c.id)
    )
    day = b.sent_on or b.planned_send_date
    invitations: list[Invitee] = []
    excluded: list[Excluded] = []
    for r in rows:
        conds = tuple(c for c in (r.conditions or "").split(",") if c)
        if r.status == "excluded":
            reason = r.reason or ""
            by_staff = reason.startswith(STAFF_PREFIX)
            excluded.append(
                Excluded(
                    patient_id=r.id,
                    nhs_number=r.nhs_number,
                    given_name=r.given_name,
                    family_name=r.family_name,
                    reason=reason[len(STAFF_PREFIX) :].strip() if by_staff else reason,
                    conditions=conds,
                    by_staff=by_staff,
                    invitation_id=r.invitation_id,
                )
            )
            continue
        flags, warning = _decode(r.reason)
        invitations.append(
            Invitee(
                invitation_id=r.invitation_id,
                patient_id=r.id,
                nhs_number=r.nhs_number,
                title=r.title,
                given_name=r.given_name,
                family_name=r.family_name,
                date_of_birth=r.date_of_birth,
                age=age_on(r.date_of_birth, day),
                address=tuple(
                    a
                    for a in (r.address_line1, r.address_line2, r.address_line3, r.address_line4)
                    if a
                ),
                postcode=r.postcode,
                mobile=r.mobile,
                email=r.email,
                conditions=conds,
                channel=r.channel,
                needs=_split_needs(r.communication_needs),
                flags=flags,
                status=r.status,
                warning=warning,
            )
        )
    live = sum(1 for x in invitations if x.status != "void")
    return BatchPlan(_batch_info(b, live, len(excluded)), invitations, excluded)


def get_batch(db: Database, batch_id: int) -> BatchPlan:
    """A batch with its invitations (name, address, conditions, channel, needs, flags) and
    exclusions with reasons; NotFound if there is no such batch."""
    with db.read() as session:
        return _load_plan(session, batch_id)


def list_batches(
    db: Database,
    *,
    status: str | None = None,
    practice_id: int | None = None,
    limit: int = 200,
) -> list[BatchInfo]:
    """Batches, newest first, with counts of invited and excluded patients."""
    with db.read() as session:
        pid = _resolve_practice(session, practice_id)
        b, i = batch_t, invitation_t
        q = select(b).where(b.c.practice_id == pid).order_by(b.c.id.desc()).limit(limit)
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
        out = []
        for r in batches:
            c = counts.get(r.id, {})
            invited = c.get("planned", 0) + c.get("sent", 0) + c.get("void", 0)
            out.append(_batch_info(r, invited, c.get("excluded", 0)))
        return out


# ----------------------------------------------------------------------------- staff toggles


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

    Only patients who were due can be ticked again; rule exclusions stay. Returns the batch.
    """
    operator = operator or current_operator()
    i = invitation_t
    try:
        with db.write() as session:
            b = _lock_batch(session, batch_id)
            if b.status != "planned":
                raise Refused(f"batch {batch_id} is {b.status}: only a planned batch can change")
            row = session.execute(
                select(i.c.id, i.c.status, i.c.reason).where(
                    i.c.batch_id == batch_id, i.c.patient_id == patient_id
                )
            ).first()
            if row is None:
                raise NotFound(f"patient {patient_id} is not in batch {batch_id}")
            if excluded:
                if row.status == "excluded":
                    return _load_plan(session, batch_id)
                text = screen_free_text(session, reason or "excluded by staff", "the reason")
                session.execute(
                    update(i)
                    .where(i.c.id == row.id)
                    .values(status="excluded", reason=f"{STAFF_PREFIX} {text}")
                )
                action = "batch.exclude"
            else:
                if row.status == "planned":
                    return _load_plan(session, batch_id)
                if not (row.reason or "").startswith(STAFF_PREFIX):
                    raise Refused(f"cannot include this patient: {row.reason}")
                flags = (
                    ["late_in_year"]
                    if b.stage == 1
                    and late_in_year(
                        b.planned_send_date,
                        get_settings(session, b.practice_id).stage_interval_days,
                    )
                    else []
                )
                session.execute(
                    update(i)
                    .where(i.c.id == row.id)
                    .values(status="planned", reason=_encode(flags))
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
            return _load_plan(session, batch_id)
    except IntegrityError:
        raise Refused(
            "this patient is already in another live batch for this stage and year"
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


def set_letters_dir(
    db: Database, batch_id: int, folder: str, *, operator: str | None = None
) -> None:
    """Remember where the batch's letters were written (the letters step calls this)."""
    with db.write() as session:
        b = _lock_batch(session, batch_id)
        session.execute(update(batch_t).where(batch_t.c.id == batch_id).values(letters_dir=folder))
        append_audit(
            session,
            operator=operator or current_operator(),
            action="batch.letters",
            practice_id=b.practice_id,
            batch_id=batch_id,
            details={},
        )


# ----------------------------------------------------------------------------- confirm / void


def _lock_batch(session: Session, batch_id: int) -> Any:
    row = session.execute(select(batch_t).where(batch_t.c.id == batch_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no batch {batch_id}")
    return row


def _done_by(b: Any) -> str:
    """'by reception-1 at 27/11/2026 09:03' for a confirmed batch (local time)."""
    when = b.confirmed_at
    if when is None:
        return f"by {b.confirmed_by or 'someone'}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return f"by {b.confirmed_by or 'someone'} at {when.astimezone():%d/%m/%Y %H:%M}"


def _refuse_if_done_elsewhere(session: Session, b: Any) -> None:
    """An empty batch whose cohort and stage another terminal already confirmed: say so.

    This is what the second of two terminals sees when it planned after the first had
    confirmed the same cohort: everyone is in the other batch, so there is nothing to send.
    """
    if b.kind != "monthly":
        return
    other = session.execute(
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
    ).first()
    if other is not None:
        raise Refused(
            f"nothing to confirm in batch {b.id}: the {ORDINAL[b.stage]} invitations for "
            f"{b.cohort_month} were already confirmed {_done_by(other)} (batch {other.id}, "
            f"sent on {other.sent_on}); nothing recorded"
        )


def _uncoded_invite_nearby(
    hist: History, patient_id: int, condition: str, day: dt.date
) -> dt.date | None:
    """A generic or LTC stage code without the condition code, 1-6 days from `day`."""
    coded = hist.invites(patient_id, condition)
    for d in sorted(hist.other_dates(patient_id)):
        if d not in coded and 0 < abs((day - d).days) < MIN_GAP_DAYS:
            return d
    return None


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
    """Mark a planned batch sent on `sent_on` (default its planned date) and record its codes.

    One transaction records, per invited patient, the LTC stage code and each invited
    condition's record code (plus the generic code when the practice asks), all dated
    `sent_on`. Refused with nothing recorded (Refused.problems lists each patient and reason):
    a future date, a date outside the batch's QOF year, an already confirmed or void batch,
    a condition without a ready record code, any patient with another invitation for the
    condition fewer than 7 days away. Warnings (exactly 7 days, under the stage interval) are
    returned. Patients who died, left or were reviewed since planning are dropped with a reason.
    `exclude` (NHS numbers) drops patients so the rest can be confirmed.
    """
    operator = operator or current_operator()
    today = today or dt.date.today()
    try:
        with db.write() as session:
            return _confirm(
                session,
                batch_id,
                sent_on,
                exclude=exclude,
                exclude_patient_ids=exclude_patient_ids,
                operator=operator,
                today=today,
            )
    except IntegrityError:
        raise Refused(
            f"batch {batch_id}: another terminal recorded these codes at the same time; "
            "nothing was recorded here"
        ) from None


def _confirm(
    session: Session,
    batch_id: int,
    sent_on: dt.date | None,
    *,
    exclude: Iterable[str],
    exclude_patient_ids: Iterable[int],
    operator: str,
    today: dt.date,
) -> ConfirmResult:
    b = _lock_batch(session, batch_id)
    if b.status == "sent":
        raise Refused(
            f"batch {batch_id} was already confirmed {_done_by(b)} as sent on {b.sent_on}: "
            "nothing recorded"
        )
    if b.status == "void":
        raise Refused(f"batch {batch_id} is void: plan a new batch")
    day = sent_on or b.planned_send_date
    if day > today:
        raise Refused(f"the send date {day.isoformat()} is in the future")
    year = QofYear(b.qof_year)
    if day not in year:
        raise Refused(
            f"the send date {day.isoformat()} is outside this batch's QOF year {year.label} "
            f"({year.start.isoformat()} to {year.end.isoformat()})"
        )
    pid = b.practice_id
    settings = get_settings(session, pid)
    catalogue = load_catalogue(session, pid)
    interval = settings.stage_interval_days
    stage = b.stage
    plan = _load_plan(session, batch_id)
    invited = [x for x in plan.invitations if x.status == "planned"]
    if not invited:
        _refuse_if_done_elsewhere(session, b)

    # staff exclusions given at confirm
    want_out: set[int] = set(exclude_patient_ids)
    unknown: list[dict[str, str]] = []
    by_nhs = {x.nhs_number: x.patient_id for x in invited}
    for raw in exclude:
        try:
            nhs = normalise_nhs_number(raw)
        except InvalidNhsNumber as exc:
            raise RecallError(f"--exclude: not a valid NHS number: {exc}") from None
        if nhs in by_nhs:
            want_out.add(by_nhs[nhs])
        else:
            unknown.append({"nhs_number": nhs, "reason": "not invited in this batch"})
    if unknown:
        raise Refused(
            f"{len(unknown)} patient(s) to exclude are not invited in batch {batch_id}", unknown
        )

    # codes must be ready before anything else
    stage_code = catalogue.profile.stage_code(stage)
    problems: list[dict[str, str]] = []
    if stage_code is None:
        problems.append(
            {
                "condition": "",
                "reason": f"the {catalogue.profile.name} profile has no LTC stage code for "
                f"stage {stage}",
                "fix": "recall codes stage N CODE --term TEXT",
            }
        )
    needed = sorted({c for x in invited if x.patient_id not in want_out for c in x.conditions})
    record: dict[str, tuple[str, str]] = {}
    for key in needed:
        cond = catalogue.get(key)
        if cond is None:
            problems.append({"condition": key, "reason": "not in the catalogue", "fix": ""})
            continue
        r = cond.readiness(catalogue.profile)
        code = cond.record_code_for(stage)
        if not r.ready or not code:
            problems.append({"condition": key, "reason": r.reason, "fix": r.fix})
            continue
        record[key] = (code, cond.invite.term(code))
    if problems:
        first = problems[0]
        raise Refused(
            "cannot confirm: "
            + "; ".join(f"{p['condition'] or 'stage code'}: {p['reason']}" for p in problems)
            + (f" (fix: {first['fix']})" if first.get("fix") else ""),
            problems,
        )

    ids = {x.patient_id for x in invited}
    registers = load_registers(session, practice_id=pid, patient_ids=ids)
    hist = load_history(session, practice_id=pid, catalogue=catalogue, year=year, patient_ids=ids)
    people = (
        {
            r.id: r
            for r in session.execute(select(*_PATIENT_COLS).where(patient_t.c.id.in_(sorted(ids))))
        }
        if ids
        else {}
    )

    dropped: list[tuple[Invitee, str, bool]] = []
    keep: list[tuple[Invitee, tuple[str, ...]]] = []
    refusals: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    warn_of: dict[int, str] = {}
    for x in invited:
        p = people[x.patient_id]
        if x.patient_id in want_out:
            dropped.append((x, "excluded by staff at confirm", True))
            continue
        if p.date_of_death is not None and p.date_of_death <= day:
            dropped.append((x, f"died on {p.date_of_death.isoformat()}", False))
            continue
        if p.deregistered_on is not None and p.deregistered_on <= day:
            dropped.append((x, f"left the practice on {p.deregistered_on.isoformat()}", False))
            continue
        active = {e.condition for e in registers.get(x.patient_id, []) if e.active_on(day)}
        conds: list[str] = []
        gone: list[str] = []
        for c in x.conditions:
            # only what happened by the send date stops the code: a letter that went out
            # before the review or the booking was still sent and is recorded as such
            reviewed = [d for d in hist.reviews(x.patient_id, c) if d <= day]
            declined = [d for d in hist.declines(x.patient_id, c) if d <= day]
            resp = hist.responses.get((x.patient_id, c))
            if c not in active:
                gone.append(f"{c}: no longer on the register")
            elif reviewed:
                gone.append(f"{c}: reviewed on {max(reviewed).isoformat()}")
            elif resp is not None and resp[1] <= day:
                gone.append(f"{c}: {resp[0]} on {resp[1].isoformat()}")
            elif declined:
                gone.append(f"{c}: declined or unsuitable on {max(declined).isoformat()}")
            else:
                conds.append(c)
        if not conds:
            dropped.append((x, "since planning: " + "; ".join(gone), False))
            continue
        patient_warn: list[str] = []
        for c in conds:
            check: GapCheck = check_gap(
                hist.invites(x.patient_id, c), day, stage=stage, interval_days=interval
            )
            item = {
                "nhs_number": x.nhs_number,
                "patient_id": str(x.patient_id),
                "condition": c,
                "reason": f"{c}: {check.message}",
            }
            if check.level is Level.REFUSE:
                refusals.append(item)
            elif check.level is Level.WARN:
                warnings.append(item)
                patient_warn.append(item["reason"])
            else:
                near = _uncoded_invite_nearby(hist, x.patient_id, c, day)
                if near is not None:
                    item["reason"] = (
                        f"{c}: an invitation coded without the {c} code on {near.isoformat()} "
                        f"is {abs((day - near).days)} days away; if backfill adds the {c} "
                        "code there, the two will be under 7 days apart"
                    )
                    warnings.append(item)
                    patient_warn.append(item["reason"])
        if patient_warn:
            warn_of[x.invitation_id] = "; ".join(patient_warn)
        keep.append((x, tuple(conds)))
    if refusals:
        raise Refused(
            f"{len({r['patient_id'] for r in refusals})} patient(s) would break the 7-day rule "
            f"on {day.isoformat()}; exclude them (--exclude NHS_NUMBER) to confirm the rest. "
            "Nothing was recorded",
            refusals,
        )

    now = utcnow()
    existing = {
        (r[0], r[1])
        for r in session.execute(
            select(recorded_code_t.c.patient_id, recorded_code_t.c.code).where(
                recorded_code_t.c.date == day,
                recorded_code_t.c.voided.is_(False),
                recorded_code_t.c.patient_id.in_(sorted(ids)),
            )
        )
    }
    generic = catalogue.profile.generic_record_code if settings.record_generic else None
    code_rows: list[dict[str, Any]] = []
    lines: list[CodeLine] = []

    def add(x: Invitee, code: str, term: str, cond: str | None) -> None:
        lines.append(
            CodeLine(
                x.patient_id,
                x.nhs_number,
                x.given_name,
                x.family_name,
                code,
                term,
                day,
                cond,
                stage,
            )
        )
        if (x.patient_id, code) in existing:
            return
        existing.add((x.patient_id, code))
        code_rows.append(
            {
                "patient_id": x.patient_id,
                "code": code,
                "term": term,
                "date": day,
                "condition": cond,
                "stage": stage,
                "origin": "send",
                "invitation_id": x.invitation_id,
                "batch_id": batch_id,
                "reconciled": False,
                "voided": False,
                "created_at": now,
            }
        )

    assert stage_code is not None
    for x, cs in keep:
        add(x, stage_code.code, stage_code.term, None)
        for c in cs:
            add(x, record[c][0], record[c][1], c)
        if generic is not None:
            add(x, generic.code, generic.term, None)
    if code_rows:
        session.execute(insert(recorded_code_t), code_rows)
    i = invitation_t
    changes = [
        {
            "iid": x.invitation_id,
            "new_status": "sent",
            "new_conditions": ",".join(cs),
            "new_reason": _encode(x.flags, warn_of.get(x.invitation_id)),
        }
        for x, cs in keep
    ] + [
        {
            "iid": x.invitation_id,
            "new_status": "excluded",
            "new_conditions": ",".join(x.conditions) if staff else "",
            "new_reason": f"{STAFF_PREFIX} {why}" if staff else why,
        }
        for x, why, staff in dropped
    ]
    if changes:
        session.connection().execute(
            update(i)
            .where(i.c.id == bindparam("iid"))
            .values(
                status=bindparam("new_status"),
                conditions=bindparam("new_conditions"),
                reason=bindparam("new_reason"),
            ),
            changes,
        )
    session.execute(
        update(batch_t)
        .where(batch_t.c.id == batch_id)
        .values(status="sent", sent_on=day, confirmed_at=now, confirmed_by=operator)
    )
    append_audit(
        session,
        operator=operator,
        action="batch.confirm",
        practice_id=pid,
        batch_id=batch_id,
        details={
            "sent_on": day.isoformat(),
            "stage": stage,
            "invited": len(keep),
            "dropped": len(dropped),
            "codes": len(code_rows),
            "warnings": len(warnings),
        },
    )
    out = _load_plan(session, batch_id)
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
        )
        for x, why, staff in dropped
    ]
    return ConfirmResult(out.batch, lines, warnings, drops)


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
        b = _lock_batch(session, batch_id)
        if b.status == "void":
            raise Refused(f"batch {batch_id} is already void")
        now = utcnow()
        i, r = invitation_t, recorded_code_t
        inv: Any = session.execute(
            update(i)
            .where(i.c.batch_id == batch_id, i.c.status.in_(("planned", "sent")))
            .values(status="void")
        )
        codes: Any = session.execute(
            update(r).where(r.c.batch_id == batch_id, r.c.voided.is_(False)).values(voided=True)
        )
        session.execute(
            update(batch_t)
            .where(batch_t.c.id == batch_id)
            .values(status="void", voided_at=now, voided_by=operator, void_reason=reason)
        )
        append_audit(
            session,
            operator=operator,
            action="batch.void",
            practice_id=b.practice_id,
            batch_id=batch_id,
            details={
                "was": b.status,
                "reason": reason,
                "invitations": inv.rowcount,
                "codes_voided": codes.rowcount,
            },
        )
        return _load_plan(session, batch_id).batch


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
    """Ad-hoc invitation: plan a one-patient batch and confirm it as sent on `sent_on`.

    When the confirm step refuses (e.g. the 7-day rule), the one-patient batch is voided so it
    does not block a later attempt, and the refusal is raised unchanged.
    """
    today = today or dt.date.today()
    day = sent_on or today
    plan = plan_adhoc(
        db, nhs_number, stage, day, operator=operator, today=today, practice_id=practice_id
    )
    try:
        return confirm_batch(db, plan.batch.id, day, operator=operator, today=today)
    except RecallError:
        void_batch(db, plan.batch.id, "ad-hoc invitation refused at confirm", operator=operator)
        raise
