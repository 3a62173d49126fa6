"""Planning a batch: load the candidates' facts, ask the one rule, write who is invited.

A batch is one letter stage. 1st letters go to a recall month's patients; 2nd and 3rd letters
to every non-responder whose next stage is due. Each letter invites every condition that is
due, each at its own stage; a patient whose letter would be of another stage is listed with
that reason. Re-planning a cohort and stage re-plans its planned batch under the same id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recall.domain.invitations import ORDINAL, Decision, InvitationStatus, check_stage, late_in_year
from recall.domain.nhs import InvalidNhsNumber, mask_nhs_number, normalise_nhs_number
from recall.domain.pca import MIN_GAP_DAYS
from recall.domain.qof_year import parse_month, qof_year_of
from recall.letters.templates import parse_needs
from recall.services.batches.cohort import Cohort, blocked_conditions, load_cohort
from recall.services.batches.model import BatchPlan
from recall.services.batches.read import load_plan, resolve_practice
from recall.services.catalogue import load_catalogue
from recall.services.errors import NotFound, Problem, RecallError, Refused
from recall.services.infra.bulk_objects import no_cycle_collection
from recall.services.infra.operator import current_operator
from recall.services.settings import PracticeSettings, get_settings
from recall.store import batches_repo as repo
from recall.store.audit_repo import append_audit, count_entries
from recall.store.batches_repo import NewInvitation
from recall.store.db import Database
from recall.store.locks import lock_for_transaction

# the plan's audit entry records how many entries the log held when the rule read the facts
AUDIT_SEEN = "audit_entries_seen"
HOME_VISIT_NEEDS = ("housebound", "care_home")


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
    found = repo.find_patient(session, practice_id, nhs)
    if found is None:
        raise NotFound(f"no patient with NHS number {mask_nhs_number(nhs)}")
    return found


def channel_for(settings: PracticeSettings, p: Any) -> tuple[str, tuple[str, ...]]:
    """(channel, flags): letter, sms, or phone when neither can reach the patient."""
    needs = parse_needs(p.communication_needs)
    can_sms = bool(p.mobile and p.mobile.strip()) and "no_sms" not in needs
    has_address = bool(p.address_line1 or p.postcode)
    if "no_letter" in needs:
        return ("sms", ("no_letter",)) if can_sms else ("phone", ("no_letter",))
    if settings.sms_enabled and can_sms:
        return "sms", ()
    if has_address:
        return "letter", ()
    if can_sms and settings.sms_enabled:
        return "sms", ("no_address",)
    return "phone", ("no_address",)


PHONE_REASON = {
    "no_letter": "asked for no letters and has no mobile for a text: contact by phone "
    "(nothing is coded until an invitation is sent)",
    "no_address": "no postal address and no mobile on record: contact by phone "
    "(nothing is coded until an invitation is sent)",
}


def stage_mismatch(stage: int, due: int, conditions: Iterable[str]) -> str:
    """Why a patient due another stage's invitation is not in this stage's list."""
    names = ", ".join(conditions)
    if due > stage:
        return (
            f"already had the {ORDINAL[stage]} invitation this year: the {ORDINAL[due]} "
            f"is due ({names})"
        )
    return f"due the {ORDINAL[due]} invitation first ({names})"


@dataclass(frozen=True)
class Placement:
    """The rule's decision turned into one invitation row for this batch."""

    row: NewInvitation | None
    waiting_until: dt.date | None = None


def in_other_batches(
    patient_id: int, d: Decision, elsewhere: Mapping[tuple[int, str, int], int]
) -> dict[str, int]:
    """The due conditions already live in another batch at that stage: condition -> batch."""
    return {
        x.condition: elsewhere[(patient_id, x.condition, x.stage)]
        for x in d.due
        if (patient_id, x.condition, x.stage) in elsewhere
    }


def place(
    p: Any,
    d: Decision,
    *,
    stage: int,
    settings: PracticeSettings,
    elsewhere: Mapping[tuple[int, str, int], int],
    staff: Mapping[int, str],
    catch_up: bool,
    send_date: dt.date,
) -> Placement:
    """Where one patient goes in a stage-`stage` batch: invited, left out (why) or not listed."""
    if d.patient_why is not None:
        return Placement(NewInvitation(p.id, stage, (), "letter", "excluded", d.patient_reason))
    taken = in_other_batches(p.id, d, elsewhere)
    due = [x for x in d.due if x.condition not in taken]
    letter = max((x.stage for x in due), default=0)

    def out(reason: str, wait: dt.date | None = None) -> Placement:
        return Placement(NewInvitation(p.id, stage, (), "letter", "excluded", reason), wait)

    if not due:
        if taken:
            cond, bid = sorted(taken.items())[0]
            return out(f"{cond}: already in batch {bid} for this invitation")
        if catch_up:
            return Placement(None)  # another month's patient with nothing to catch up
        # a 2nd/3rd list names only those it would otherwise hold (not the whole practice)
        listed = [n for n in d.not_due if stage == 1 or n.next_stage == stage]
        if not listed:
            return Placement(None)
        waits = [n.earliest for n in listed if n.earliest and n.next_stage == stage]
        return out(
            "; ".join(f"{n.condition}: {n.reason}" for n in listed), min(waits, default=None)
        )
    if letter != stage:
        if stage > 1 or catch_up:
            return Placement(None)  # in the list of their own letter's stage
        return out(stage_mismatch(stage, letter, [x.condition for x in due]))
    home = [n for n in parse_needs(p.communication_needs) if n in HOME_VISIT_NEEDS]
    if home:
        return out(f"{home[0].replace('_', ' ')}: arrange a visit instead")
    channel, flags = channel_for(settings, p)
    conds = tuple((x.condition, x.stage) for x in due)
    if channel == "phone":
        return Placement(
            NewInvitation(
                p.id, stage, conds, "phone", "excluded", PHONE_REASON[flags[0]], flags=flags
            )
        )
    more = (
        ["late_in_year"]
        if stage == 1 and late_in_year(send_date, settings.stage_interval_days)
        else []
    )
    if catch_up:
        more.append("catch_up")
    flags = (*flags, *more)
    if p.id in staff:
        return Placement(
            NewInvitation(
                p.id,
                stage,
                conds,
                channel,
                "excluded",
                staff[p.id],
                staff_excluded=True,
                flags=flags,
            )
        )
    return Placement(NewInvitation(p.id, stage, conds, channel, "planned", flags=flags))


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
    """Plan (or re-plan) the batch for one month (`YYYY-MM`) and letter stage.

    Stage 1: the month's recall cohort (and mid-year conditions catching up). Stages 2 and 3:
    every patient whose next stage is due on `send_date` (default today), whatever their recall
    month. Everyone left out is listed with a plain reason. A planned batch for the same month
    and stage is re-planned under its id (staff exclusions kept).
    """
    check_stage_arg(stage)
    try:
        y, m = parse_month(month)
    except ValueError as exc:
        raise RecallError(str(exc)) from None
    send = send_date or today or dt.date.today()
    return _plan(
        db,
        kind="monthly",
        stage=stage,
        month=f"{y:04d}-{m:02d}",
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
    """Plan a one-patient ("adhoc") batch with the same rule, in any month.

    The previous stage need only be 7 days old (confirm warns under the practice's interval).
    Refused, with nothing written, when the patient is not due this stage.
    """
    check_stage_arg(stage)
    send = send_date or today or dt.date.today()
    with db.read() as session:
        pid = resolve_practice(session, practice_id)
        patient_id = find_patient_id(session, pid, nhs_number)
    return _plan(
        db,
        kind="adhoc",
        stage=stage,
        month=f"{send.year:04d}-{send.month:02d}",
        send_date=send,
        patient_ids=[patient_id],
        operator=operator,
        practice_id=practice_id,
    )


def _refuse_adhoc(
    cohort: Cohort,
    decisions: Mapping[int, Decision],
    stage: int,
    elsewhere: Mapping[tuple[int, str, int], int],
) -> None:
    """An ad-hoc invitation the rule would not send: refused with the reason, before any
    batch exists (one already in another batch, sent or planned, says which)."""
    p = cohort.patients[0] if cohort.patients else None
    d = decisions.get(p.id) if p is not None else None
    if p is None or d is None:
        raise Refused("the patient is not on any condition register")
    taken = in_other_batches(p.id, d, elsewhere)
    if d.stage == stage and len(taken) < len(d.due):
        return
    if taken:
        names = ", ".join(sorted(taken))
        bid = sorted(taken.values())[0]
        why = f"the {ORDINAL[d.stage]} invitation for {names} is already in batch {bid}"
        if d.stage < stage:
            why += f"; the {ORDINAL[stage]} can follow once that one has been sent"
    elif d.stage == 0:
        why = d.reason
    else:
        why = stage_mismatch(stage, d.stage, d.conditions)
    raise Refused(
        f"not invited ({ORDINAL[stage]} invitation): {why}; nothing was recorded",
        [Problem(why, nhs_number=p.nhs_number, patient_id=p.id)],
    )


@dataclass(frozen=True)
class Preview:
    """Who a batch would hold if planned now (nothing written)."""

    cohort: Cohort
    placed: dict[int, Placement]
    blocked: dict[str, str]

    @property
    def rows(self) -> list[NewInvitation]:
        return [x.row for x in self.placed.values() if x.row is not None]

    @property
    def due(self) -> int:
        return sum(1 for r in self.rows if r.status == InvitationStatus.PLANNED)

    @property
    def waiting(self) -> list[dt.date]:
        return [x.waiting_until for x in self.placed.values() if x.waiting_until]


def preview(
    session: Session,
    *,
    practice_id: int,
    kind: str,
    stage: int,
    month: str,
    send_date: dt.date,
    batch_id: int | None = None,
    patient_ids: list[int] | None = None,
) -> Preview:
    """The rule applied to a batch's candidates: the same answer `plan_batch` writes."""
    with no_cycle_collection():
        return _preview(
            session, practice_id, kind, stage, month, send_date, batch_id, patient_ids
        )


def _preview(
    session: Session,
    practice_id: int,
    kind: str,
    stage: int,
    month: str,
    send_date: dt.date,
    batch_id: int | None,
    patient_ids: list[int] | None,
) -> Preview:
    settings = get_settings(session, practice_id)
    catalogue = load_catalogue(session, practice_id)
    interval = MIN_GAP_DAYS if kind == "adhoc" else settings.stage_interval_days
    cohort = load_cohort(
        session,
        practice_id=practice_id,
        settings=settings,
        catalogue=catalogue,
        stage=stage,
        month=int(month[5:7]),
        send_date=send_date,
        patient_ids=patient_ids,
    )
    decisions = cohort.decide(catalogue, send_date=send_date, interval=interval)
    elsewhere = repo.live_elsewhere(
        session, qof_year=cohort.year.start_year, batch_id=batch_id, patient_ids=set(decisions)
    )
    if kind == "adhoc":
        _refuse_adhoc(cohort, decisions, stage, elsewhere)
    staff = repo.staff_exclusions(session, batch_id) if batch_id is not None else {}
    placed = {
        p.id: place(
            p,
            decisions[p.id],
            stage=stage,
            settings=settings,
            elsewhere=elsewhere,
            staff=staff,
            catch_up=p.id in cohort.catch_up,
            send_date=send_date,
        )
        for p in cohort.patients
        if p.id in decisions
    }
    return Preview(cohort, placed, blocked_conditions(catalogue))


def _plan(
    db: Database,
    *,
    kind: str,
    stage: int,
    month: str,
    send_date: dt.date,
    patient_ids: list[int] | None,
    operator: str | None,
    practice_id: int | None,
) -> BatchPlan:
    """Load -> decide -> write -> audit, in one transaction."""
    try:
        with db.write() as session, no_cycle_collection():  # a cohort's rows and fact sets
            plan, seen = plan_in(
                session,
                kind=kind,
                stage=stage,
                month=month,
                send_date=send_date,
                patient_ids=patient_ids,
                operator=operator or current_operator(),
                practice_id=practice_id,
            )
    except IntegrityError:
        raise Refused(
            "another terminal planned or confirmed some of these patients at the same time: "
            "plan again"
        ) from None
    return plan if seen is None else _with_waits_and_warnings(plan, seen)


def plan_in(
    session: Session,
    *,
    kind: str,
    stage: int,
    month: str,
    send_date: dt.date,
    patient_ids: list[int] | None,
    operator: str,
    practice_id: int | None,
) -> tuple[BatchPlan, Preview | None]:
    """Plan inside the caller's transaction (the ad-hoc invitation confirms in the same one).

    No preview (None) when the batch's letters were made: it is returned as it stands."""
    year = qof_year_of(send_date)
    pid = resolve_practice(session, practice_id)
    # two terminals planning one cohort and stage: the second waits, then re-plans
    lock_for_transaction(session, "plan", pid, kind, stage, month, patient_ids)
    seen_entries = count_entries(session)  # before reading facts: see letters_check
    existing = repo.find_planned(
        session,
        practice_id=pid,
        kind=kind,
        stage=stage,
        month=month,
        patient_id=patient_ids[0] if patient_ids else None,
    )
    made = _as_made(session, existing) if existing is not None else None
    if made is not None:
        return made, None
    seen = preview(
        session,
        practice_id=pid,
        kind=kind,
        stage=stage,
        month=month,
        send_date=send_date,
        batch_id=existing,
        patient_ids=patient_ids,
    )
    if kind == "adhoc" and seen.due == 0:
        why = next((r.reason for r in seen.rows if r.reason), "not due an invitation now")
        raise Refused(f"not invited ({ORDINAL[stage]} invitation): {why}; nothing was recorded")
    if existing is not None:
        repo.clear_batch(session, existing, send_date, year.start_year)
        batch_id = existing
    else:
        batch_id = repo.insert_batch(
            session,
            practice_id=pid,
            kind=kind,
            stage=stage,
            month=month,
            qof_year=year.start_year,
            send_date=send_date,
            operator=operator,
        )
    repo.insert_invitations(session, batch_id, year.start_year, seen.rows)
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
            "invited": seen.due,
            "excluded": len(seen.rows) - seen.due,
            "blocked_conditions": sorted(seen.blocked),
            AUDIT_SEEN: seen_entries,
        },
    )
    return load_plan(session, batch_id), seen


def _as_made(session: Session, batch_id: int) -> BatchPlan | None:
    """A batch whose letters were made is not planned again: its list is who got them.

    Planning again would replace its invitations, so patients due since then would be coded
    without a letter and the letters' numbers (to take one out at confirm) would be lost.
    Anyone due since goes in the next list, once this one is recorded as sent."""
    row = repo.batch_row(session, batch_id)
    if row is None or row.letters_made_on is None:
        return None
    return load_plan(session, batch_id)


def _with_waits_and_warnings(plan: BatchPlan, seen: Preview) -> BatchPlan:
    waiting = {k: v.waiting_until for k, v in seen.placed.items() if v.waiting_until}
    excluded = [replace(e, waiting_until=waiting.get(e.patient_id)) for e in plan.excluded]
    on_registers = {s.condition for f in seen.cohort.facts.values() for s in f.registers}
    warnings = [
        f"{c}: not invited, {why}" for c, why in sorted(seen.blocked.items()) if c in on_registers
    ]
    return replace(plan, excluded=excluded, warnings=warnings)
