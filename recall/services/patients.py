"""One patient at a time: lookup, the year's timeline and PCA status, booked/responded marks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from recall.domain.care import CareState
from recall.domain.catalogue import Catalogue, Condition
from recall.domain.invitations import (
    ORDINAL,
    Due,
    RegisterSpan,
    care,
    condition_dates,
    decide,
    next_stage_from,
    pca_status,
)
from recall.domain.nhs import (
    InvalidNhsNumber,
    ascii_digits,
    mask_nhs_number,
    normalise_nhs_number,
)
from recall.domain.pca import PLAIN_STATUS, SHORT_STATUS, PcaStatus
from recall.domain.qof_profile import YearProfile
from recall.domain.qof_year import QofYear, qof_year_of
from recall.domain.recall_month import age_on, recall_month
from recall.importers.values import parse_date
from recall.services.batches.cohort import blocked_conditions
from recall.services.catalogue import load_catalogue
from recall.services.errors import NotFound, RecallError
from recall.services.history import codeable_conditions
from recall.services.infra.operator import current_operator
from recall.services.practice_scope import resolve_practice_id
from recall.services.settings import get_settings
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.history_repo import (
    History,
    code_roles,
    load_history,
    load_registers,
    patient_facts,
)
from recall.store.models import (
    batch_t,
    event_t,
    invitation_t,
    patient_t,
    recorded_code_t,
    register_t,
    response_t,
    utcnow,
)

RESPONSE_KINDS = ("booked", "responded")
# a condition this QOF year does not except by invitation: no PCA status to speak of
NO_QOF_PLAIN = "no QOF exception this year (invitations are good care only)"
# letters went without a code this tool can add for the condition: "not invited" is untrue
UNCODED_PLAIN = "invited without a code this tool can add (set up its code list first)"


@dataclass(frozen=True)
class PatientSummary:
    """A search hit: enough to pick the right person."""

    patient_id: int
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    age: int
    postcode: str | None
    conditions: tuple[str, ...]
    note: str = ""  # "died 2026-05-01" / "left 2026-04-02"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class TimelineEvent:
    date: dt.date
    code: str
    term: str
    origin: str  # import | send | backfill
    meaning: str  # e.g. "HYP invitation", "LTC 1st invitation", "generic invitation"
    in_year: bool
    reconciled: bool | None = None  # recorded codes: seen again in an import
    value: str | None = None  # a reading's value (`150/90`, `48`)


@dataclass(frozen=True)
class CarePart:
    """One part of a full review (asthma: control, exacerbations, written plan)."""

    cluster: str
    done_on: dt.date | None = None
    listed: bool = True  # False: the tool has no member list for it yet


@dataclass(frozen=True)
class CareView:
    """This year's care for one condition, as the rule engine judged it, for screens."""

    measure: str = ""  # "blood pressure", "HbA1c": a measured condition's latest reading
    reading: str = ""  # its value ("152/96"), "" when coded without one
    reading_on: dt.date | None = None
    in_target: bool | None = None  # None: no reading, or no value to judge
    target: str = ""  # the limit it was judged against ("140/90")
    done_on: dt.date | None = None  # care done this year (a review, or a reading in target)
    done_what: str = ""  # the care code's term that day
    has_care_list: bool = True  # False: the condition has no QOF care list at all
    has_invite_cluster: bool = True  # False: QOF publishes no invitation cluster for it
    parts: tuple[CarePart, ...] = ()
    qof_status: str = "pca"  # pca | no_qof
    qof_year: str = ""
    qof_words: str = ""


@dataclass(frozen=True)
class ConditionStatus:
    key: str
    name: str
    status: str
    plain: str
    invitations: tuple[dt.date, ...]
    earliest_second: dt.date | None
    review_date: dt.date | None
    response: str | None  # booked / responded this year
    ready: bool
    readiness: str
    next_step: str = ""  # the invitation rule's answer today: due now, or why not
    care: str = ""  # what this year's care says (reading in / out of target)
    not_counted: tuple[dt.date, ...] = ()  # invitations before an out-of-target reading
    care_parts: tuple[str, ...] = ()  # parts of a full review done this year (or missing)
    qof: str = ""  # this QOF year: invitation-based exception, or no QOF indicator
    care_view: CareView = CareView()  # the same, structured for the patient screen
    short: str = ""  # `plain` in a table column's words


@dataclass(frozen=True)
class PatientView:
    patient_id: int
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    age: int
    as_of: dt.date
    qof_year: str
    recall_month: int
    alive_and_registered: bool
    conditions: list[str]
    status: dict[str, ConditionStatus]
    events: list[TimelineEvent]
    invitations: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `recall patient --json` document (formats.md), with extra keys."""
        return {
            "nhs_number": self.nhs_number,
            "patient_id": self.patient_id,
            "family_name": self.family_name,
            "given_name": self.given_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "as_of": self.as_of.isoformat(),
            "qof_year": self.qof_year,
            "recall_month": self.recall_month,
            "alive_and_registered": self.alive_and_registered,
            "conditions": self.conditions,
            "events": [
                {
                    "date": e.date.isoformat(),
                    "code": e.code,
                    "term": e.term,
                    "origin": e.origin,
                    "meaning": e.meaning,
                    "in_year": e.in_year,
                    "reconciled": e.reconciled,
                }
                for e in self.events
            ],
            "status": {k: s.status for k, s in self.status.items()},
            "details": {
                k: {
                    "plain": s.plain,
                    "invitations": [d.isoformat() for d in s.invitations],
                    "earliest_second": s.earliest_second.isoformat() if s.earliest_second else None,
                    "next_step": s.next_step,
                    "review_date": s.review_date.isoformat() if s.review_date else None,
                    "response": s.response,
                    "ready": s.ready,
                    "readiness": s.readiness,
                    "care": s.care,
                    "not_counted": [d.isoformat() for d in s.not_counted],
                    "care_parts": list(s.care_parts),
                    "qof": s.qof,
                }
                for k, s in self.status.items()
            },
            "invitations": self.invitations,
        }


def _practice(session: Session, practice_id: int | None) -> int:
    pid = resolve_practice_id(session, practice_id)
    assert pid is not None
    return pid


def _patient_row(session: Session, practice_id: int, nhs_number: str) -> Any:
    try:
        nhs = normalise_nhs_number(nhs_number)
    except InvalidNhsNumber as exc:
        raise RecallError(f"not a valid NHS number: {exc}") from None
    row = session.execute(
        select(patient_t).where(
            patient_t.c.practice_id == practice_id, patient_t.c.nhs_number == nhs
        )
    ).first()
    if row is None:
        raise NotFound(f"no patient with NHS number {mask_nhs_number(nhs)}")
    return row


def _statuses(
    p: Any,
    registers: list[RegisterSpan],
    hist: History,
    catalogue: Catalogue,
    active: list[str],
    as_of: dt.date,
    interval: int,
    events: list[TimelineEvent] | None = None,
) -> dict[str, ConditionStatus]:
    """Each active condition's PCA status and next step, from the one invitation rule."""
    year = qof_year_of(as_of)
    facts = patient_facts(p, {p.id: registers}, hist)
    codeable = codeable_conditions(catalogue, year)
    profile = catalogue.year_profile(year)
    parts: dict[str, dt.date] = {}
    for each in catalogue:
        for cl in each.care_parts:
            days = [e.date for e in events or () if e.in_year and e.date <= as_of and e.code in cl]
            if days:
                parts[cl.cluster] = max(days)
    decision = decide(
        facts,
        send_date=as_of,
        year=year,
        conditions=active,
        not_ready=blocked_conditions(catalogue),
        interval=interval,
    )
    due = {d.condition: d for d in decision.due}
    not_due = {n.condition: n for n in decision.not_due}
    out: dict[str, ConditionStatus] = {}
    for key in active:
        cond = catalogue.get(key)
        result = pca_status(facts, key, year=year, as_of=as_of, codeable=key in codeable)
        r = cond.readiness(catalogue.profile) if cond else None
        resp = hist.responses.get((p.id, key))
        second = (
            next_stage_from(result, interval)
            if result.status in (PcaStatus.INVITED_ONCE, PcaStatus.INVALID_INTERVAL)
            else None
        )
        if key in due:
            step = _due_step(due[key], as_of, second)
        else:
            step = not_due[key].reason if key in not_due else decision.patient_reason
        # a letter without any condition's code may have been for it (the rule's own test)
        bare = condition_dates(facts, key, facts.span(key, as_of), year)[1]
        uncoded = any(d <= as_of for d in bare) and key not in codeable
        plain, short = _status_words(result.status, uncoded, profile.pca_applies(key))
        out[key] = ConditionStatus(
            key=key,
            name=cond.name if cond else key,
            status=result.status.value,
            plain=plain,
            short=short,
            invitations=result.invitations,
            earliest_second=second,
            review_date=result.review_date,
            response=f"{resp[0]} {resp[1].isoformat()}" if resp else None,
            ready=bool(r and r.ready),
            readiness=r.reason if r else "not in the catalogue",
            next_step=step,
            care=result.care,
            not_counted=result.not_counted,
            care_parts=_parts(cond, parts) if cond else (),
            qof=profile.qof_status(key)[1],
            care_view=_care_view(
                cond, care(facts, key, year, as_of), events or (), parts, profile, year
            ),
        )
    return out


def _status_words(status: PcaStatus, uncoded: bool, pca_applies: bool) -> tuple[str, str]:
    """(the sentence, the table's word) for a PCA status: one answer for every screen.

    `uncoded`: the patient had letters without a code this tool can add for the condition,
    so "not invited" would not be true. A condition this QOF year does not except by
    invitation has no PCA status to speak of, unless it was reviewed.
    """
    if not pca_applies and status is not PcaStatus.ACHIEVED:
        return NO_QOF_PLAIN, "no QOF this year"
    if status is PcaStatus.NOT_INVITED and uncoded:
        return UNCODED_PLAIN, "invited, no code"
    return PLAIN_STATUS[status], SHORT_STATUS[status]


def _due_step(d: Due, as_of: dt.date, second: dt.date | None) -> str:
    """The rule's "due" in words. Due with its code already on the day means that letter went
    that day (the rule would add nothing to it): say so, and when the next one can go."""
    if not d.coded_already:
        return f"{ORDINAL[d.stage]} invitation due now"
    sent = f"{ORDINAL[d.stage]} invitation sent {as_of.isoformat()}"
    if d.stage >= 3:
        return f"{sent}: all three invitations sent this year"
    later = f" from {second.isoformat()}" if second else " later"
    return f"{sent}: the {ORDINAL[d.stage + 1]} can go{later}"


def _care_view(
    cond: Condition | None,
    state: CareState,
    events: Iterable[TimelineEvent],
    parts: dict[str, dt.date],
    profile: YearProfile,
    year: QofYear,
) -> CareView:
    """The rule engine's care state for one condition, with the care code's term that day."""
    qof_status, qof_words = profile.qof_status(cond.key) if cond else ("pca", "")
    what = ""
    if cond is not None and state.achieved_on is not None:
        what = next(
            (
                e.term or e.meaning
                for e in events
                if e.date == state.achieved_on and e.code in cond.review
            ),
            "",
        )
    reading = state.reading
    return CareView(
        measure=state.measure,
        reading=reading.text if reading else "",
        reading_on=reading.on if reading else None,
        in_target=None if reading is None or not state.target else state.achieved,
        target=state.target,
        done_on=state.achieved_on,
        done_what=what,
        has_care_list=bool(cond and cond.care),
        has_invite_cluster=bool(cond and cond.invite_cluster),
        parts=tuple(
            CarePart(cl.cluster, parts.get(cl.cluster), bool(cl.codes))
            for cl in (cond.care_parts if cond else ())
        ),
        qof_status=qof_status,
        qof_year=year.label,
        qof_words=qof_words,
    )


def _parts(cond: Condition, done: dict[str, dt.date]) -> tuple[str, ...]:
    """Each part of a full review: done on which day, not yet, or its list still needed."""
    out = []
    for cl in cond.care_parts:
        if not cl.codes:
            out.append(f"{cl.cluster}: care list needed (recall codes import {cl.cluster} FILE)")
        elif cl.cluster in done:
            out.append(f"{cl.cluster}: done {done[cl.cluster].isoformat()}")
        else:
            out.append(f"{cl.cluster}: not done this year")
    return tuple(out)


def _meanings(catalogue: Catalogue) -> dict[str, str]:
    roles = code_roles(catalogue)
    out: dict[str, list[str]] = {}
    for code, conds in roles.specific.items():
        out.setdefault(code, []).append(f"{'/'.join(sorted(conds))} invitation")
    for code, stage in roles.stage.items():
        out.setdefault(code, []).append(f"LTC invitation stage {stage}")
    for code in roles.generic:
        out.setdefault(code, []).append("generic QOF invitation")
    for code, conds in roles.review.items():
        out.setdefault(code, []).append(f"{'/'.join(sorted(conds))} review")
    for cond in catalogue:
        for cl in cond.care_parts:
            for code in cl.codes:
                out.setdefault(code, []).append(f"{cond.key} review part ({cl.cluster})")
    for code, conds in roles.decline.items():
        out.setdefault(code, []).append(f"{'/'.join(sorted(conds))} declined/unsuitable")
    return {k: "; ".join(v) for k, v in out.items()}


def _timeline(
    session: Session, patient_id: int, catalogue: Catalogue, year: QofYear
) -> list[TimelineEvent]:
    """Imported events and the codes this tool recorded (not voided), oldest first."""
    meaning = _meanings(catalogue)
    events: list[TimelineEvent] = []
    for day, code, term, value in session.execute(
        select(event_t.c.date, event_t.c.code, event_t.c.term, event_t.c.value).where(
            event_t.c.patient_id == patient_id
        )
    ):
        events.append(
            TimelineEvent(
                day, code, term or "", "import", meaning.get(code, ""), day in year, value=value
            )
        )
    rc = recorded_code_t
    for day, code, term, origin, reconciled in session.execute(
        select(rc.c.date, rc.c.code, rc.c.term, rc.c.origin, rc.c.reconciled).where(
            rc.c.patient_id == patient_id, rc.c.voided.is_(False)
        )
    ):
        events.append(
            TimelineEvent(
                day, code, term, origin, meaning.get(code, ""), day in year, bool(reconciled)
            )
        )
    events.sort(key=lambda e: (e.date, e.origin != "import", e.code))
    return events


def _invitation_history(
    session: Session, patient_id: int, year: QofYear
) -> list[dict[str, object]]:
    """This QOF year's invitations of the patient, batch by batch."""
    i, b = invitation_t, batch_t
    return [
        {
            "batch_id": r.batch_id,
            "kind": r.kind,
            "stage": r.stage,
            "status": r.status,
            "conditions": [c for c in (r.conditions or "").split(",") if c],
            "planned_send_date": r.planned_send_date.isoformat(),
            "sent_on": r.sent_on.isoformat() if r.sent_on else None,
            "reason": r.reason,
        }
        for r in session.execute(
            select(
                i.c.batch_id,
                b.c.kind,
                i.c.stage,
                i.c.status,
                i.c.conditions,
                b.c.planned_send_date,
                b.c.sent_on,
                i.c.reason,
            )
            .join(b, b.c.id == i.c.batch_id)
            .where(i.c.patient_id == patient_id, i.c.qof_year == year.start_year)
            .order_by(b.c.id)
        )
    ]


def patient_view(
    db: Database,
    nhs_number: str,
    as_of: dt.date | None = None,
    *,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> PatientView:
    """One patient's registers, coded timeline and PCA status per condition for the QOF year
    of `as_of` (default today). Unknown NHS number: NotFound. Voided codes are not listed."""
    as_of = as_of or today or dt.date.today()
    year = qof_year_of(as_of)
    with db.read() as session:
        pid = _practice(session, practice_id)
        p = _patient_row(session, pid, nhs_number)
        catalogue = load_catalogue(session, pid)
        settings = get_settings(session, pid)
        registers = load_registers(session, practice_id=pid, patient_ids=[p.id]).get(p.id, [])
        hist = load_history(
            session,
            practice_id=pid,
            catalogue=catalogue,
            year=year,
            end=as_of,
            patient_ids=[p.id],
        )
        events = _timeline(session, p.id, catalogue, year)
        invitations = _invitation_history(session, p.id, year)
    last_review = max((e.date for e in events if "review" in e.meaning), default=None)
    active = sorted({e.condition for e in registers if e.active_on(as_of)})
    status = _statuses(
        p, registers, hist, catalogue, active, as_of, settings.stage_interval_days, events
    )
    alive = (p.date_of_death is None or p.date_of_death > as_of) and (
        p.deregistered_on is None or p.deregistered_on > as_of
    )
    return PatientView(
        patient_id=p.id,
        nhs_number=p.nhs_number,
        given_name=p.given_name,
        family_name=p.family_name,
        date_of_birth=p.date_of_birth,
        age=age_on(p.date_of_birth, as_of),
        as_of=as_of,
        qof_year=year.label,
        recall_month=recall_month(
            date_of_birth=p.date_of_birth,
            rule=settings.recall_rule,
            override=p.recall_month,
            last_review=last_review,
        ),
        alive_and_registered=alive,
        conditions=active,
        status=status,
        events=events,
        invitations=invitations,
    )


def _parse_dob(text: str) -> dt.date | None:
    try:
        return parse_date(text)
    except ValueError:
        return None


def search_patients(
    db: Database,
    query: str,
    *,
    limit: int = 50,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> list[PatientSummary]:
    """Find patients by NHS number (whole or first digits), date of birth (2026-01-31 or
    31/01/2026) or name words (each word matches the given or family name, any case)."""
    text = query.strip()
    today = today or dt.date.today()
    if not text:
        return []
    p = patient_t
    with db.read() as session:
        pid = _practice(session, practice_id)
        q = select(p).where(p.c.practice_id == pid)
        digits = ascii_digits(text).replace(" ", "").replace("-", "")
        dob = _parse_dob(text)
        if dob is not None:
            q = q.where(p.c.date_of_birth == dob)
        elif digits.isdigit():
            q = q.where(p.c.nhs_number.like(digits + "%"))
        else:
            for word in text.lower().split():
                pattern = f"%{word}%"
                q = q.where(
                    or_(
                        func.lower(p.c.family_name).like(pattern),
                        func.lower(p.c.given_name).like(pattern),
                    )
                )
        rows = list(session.execute(q.order_by(p.c.family_name, p.c.given_name).limit(limit)))
        ids = [r.id for r in rows]
        conds: dict[int, list[str]] = {}
        if ids:
            for patient_id, cond in session.execute(
                select(register_t.c.patient_id, register_t.c.condition).where(
                    and_(
                        register_t.c.patient_id.in_(ids),
                        or_(register_t.c.resolved_on.is_(None), register_t.c.resolved_on > today),
                    )
                )
            ):
                conds.setdefault(patient_id, []).append(cond)
    out = []
    for r in rows:
        note = ""
        if r.date_of_death:
            note = f"died {r.date_of_death.isoformat()}"
        elif r.deregistered_on:
            note = f"left {r.deregistered_on.isoformat()}"
        out.append(
            PatientSummary(
                patient_id=r.id,
                nhs_number=r.nhs_number,
                given_name=r.given_name,
                family_name=r.family_name,
                date_of_birth=r.date_of_birth,
                age=age_on(r.date_of_birth, today),
                postcode=r.postcode,
                conditions=tuple(sorted(conds.get(r.id, []))),
                note=note,
            )
        )
    return out


def mark_response(
    db: Database,
    patient_id: int,
    condition: str,
    kind: str = "booked",
    on: dt.date | None = None,
    *,
    operator: str | None = None,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> bool:
    """Staff mark that the patient booked or responded for a condition: no further invites
    for it this QOF year. Returns False when the same mark already exists."""
    if kind not in RESPONSE_KINDS:
        raise RecallError(f"response must be one of {', '.join(RESPONSE_KINDS)}")
    on = on or today or dt.date.today()
    year = qof_year_of(on)
    key = condition.upper()
    r = response_t
    with db.write() as session:
        found = session.execute(
            select(r.c.id).where(
                r.c.patient_id == patient_id,
                r.c.condition == key,
                r.c.qof_year == year.start_year,
                r.c.kind == kind,
            )
        ).first()
        if found is not None:
            return False
        practice = session.execute(
            select(patient_t.c.practice_id).where(patient_t.c.id == patient_id)
        ).scalar()
        if practice is None or practice != (practice_id or practice):
            raise NotFound(f"no patient {patient_id}")
        operator = operator or current_operator()
        session.execute(
            r.insert().values(
                patient_id=patient_id,
                condition=key,
                qof_year=year.start_year,
                kind=kind,
                on=on,
                at=utcnow(),
                operator=operator,
            )
        )
        append_audit(
            session,
            operator=operator,
            action=f"patient.{kind}",
            practice_id=practice,
            details={"patient_id": patient_id, "condition": key, "on": on.isoformat()},
        )
    return True


def clear_response(
    db: Database,
    patient_id: int,
    condition: str,
    *,
    year_start: int | None = None,
    operator: str | None = None,
    today: dt.date | None = None,
) -> int:
    """Undo booked/responded marks for a condition this QOF year (invites resume)."""
    year = year_start or qof_year_of(today or dt.date.today()).start_year
    r = response_t
    with db.write() as session:
        res: Any = session.execute(
            r.delete().where(
                r.c.patient_id == patient_id,
                r.c.condition == condition.upper(),
                r.c.qof_year == year,
            )
        )
        practice = session.execute(
            select(patient_t.c.practice_id).where(patient_t.c.id == patient_id)
        ).scalar()
        append_audit(
            session,
            operator=operator or current_operator(),
            action="patient.response_cleared",
            practice_id=practice,
            details={
                "patient_id": patient_id,
                "condition": condition.upper(),
                "rows": res.rowcount,
            },
        )
        return int(res.rowcount)
