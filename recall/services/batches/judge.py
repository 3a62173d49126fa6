"""The rule's answer turned into confirm's three outcomes for each invitee: keep (with the
conditions still true on the send date), take out (something changed since planning), or
refuse (the send date would break a rule). Letters and confirm both use it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue
from recall.domain.invitations import (
    ORDINAL,
    SINCE_PLANNING,
    Decision,
    Due,
    PatientFacts,
    Why,
    decide,
)
from recall.domain.pca import MIN_GAP_DAYS
from recall.domain.qof_year import QofYear
from recall.services.batches.model import Invitee
from recall.services.catalogue import load_catalogue
from recall.services.errors import Problem
from recall.services.infra.bulk_objects import no_cycle_collection
from recall.services.settings import get_settings
from recall.store import batches_repo as repo
from recall.store.history_repo import load_history, load_registers, patient_facts


def decide_all(
    session: Session, b: Any, invited: list[Invitee], catalogue: Catalogue, day: dt.date
) -> tuple[dict[int, Decision], dict[int, PatientFacts]]:
    ids = {x.patient_id for x in invited}
    year = QofYear(b.qof_year)
    within = repo.batch_patients(int(b.id))  # invitees are the batch's: one subquery, no ids
    registers = load_registers(
        session, practice_id=b.practice_id, patient_ids=ids, within=within
    )
    hist = load_history(
        session,
        practice_id=b.practice_id,
        catalogue=catalogue,
        year=year,
        patient_ids=ids,
        within=within,
    )
    rows = repo.patients_by_ids(session, b.practice_id, ids, within)
    facts = {r.id: patient_facts(r, registers, hist) for r in rows}
    keys = tuple(catalogue.conditions)
    decisions = {
        pid: decide(f, send_date=day, year=year, conditions=keys, interval=MIN_GAP_DAYS)
        for pid, f in facts.items()
    }
    return decisions, facts


@dataclass
class Outcome:
    """What confirm decided for each invitee."""

    keep: list[tuple[Invitee, tuple[Due, ...], str | None]] = field(default_factory=list)
    dropped: list[tuple[Invitee, str, bool]] = field(default_factory=list)  # (x, why, staff)
    refusals: list[Problem] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)


def _joins_later(facts: PatientFacts, cond: str, day: dt.date) -> dt.date | None:
    later = [
        s.entered for s in facts.registers if s.condition == cond and s.entered and s.entered > day
    ]
    return min(later) if later else None


def judge(
    x: Invitee,
    d: Decision,
    facts: PatientFacts,
    *,
    day: dt.date,
    interval: int,
    out: Outcome,
    no_code: frozenset[str] = frozenset(),
) -> None:
    """Keep, drop or refuse one invitee, condition by condition, from the rule's decision
    (`no_code`: conditions that need no QOF invite code this year, so no code can clash)."""
    if d.patient_why in (Why.DIED, Why.LEFT):
        out.dropped.append((x, d.patient_reason, False))
        return
    if d.patient_why is not None:
        out.refusals.append(Problem(d.patient_reason, x.nhs_number, x.patient_id))
        return
    due = {u.condition: u for u in d.due}
    not_due = {n.condition: n for n in d.not_due}
    planned = dict(x.condition_stages) or {c: 1 for c in x.conditions}
    kept: list[Due] = []
    gone: list[str] = []
    for cond, stage in planned.items():
        u, n = due.get(cond), not_due.get(cond)
        problem = None
        if u is not None and u.stage == stage:
            kept.append(u)
        elif u is not None and u.stage > stage:
            gone.append(f"{cond}: already had its {ORDINAL[stage]} invitation")
        elif u is not None:
            problem = (
                f"{cond}: this letter is its {ORDINAL[stage]} invitation, but its "
                f"{ORDINAL[stage - 1]} is not dated before {day.isoformat()} "
                "(invitations go in stage order)"
            )
        elif n is not None and n.why == Why.NOT_ON_REGISTER and _joins_later(facts, cond, day):
            joins = _joins_later(facts, cond, day)
            problem = f"{cond}: joins the register on {joins}, after the send date"
        elif n is not None and n.why in SINCE_PLANNING:
            gone.append(f"{cond}: {n.reason}")
        else:
            problem = f"{cond}: {n.reason if n else 'not due'}"
        if problem:
            out.refusals.append(Problem(problem, x.nhs_number, x.patient_id, cond))
    if any(p.patient_id == x.patient_id for p in out.refusals):
        return
    if not kept:
        out.dropped.append((x, "since planning: " + "; ".join(gone), False))
        return
    notes = []
    for u in kept:
        note = u.warning
        if note is None and u.previous is not None and (day - u.previous).days < interval:
            gap = (day - u.previous).days
            note = (
                f"{gap} days after the invitation of {u.previous.isoformat()}, less than the "
                f"{interval}-day stage interval"
            )
        if note is None and u.condition not in no_code:
            note = _uncoded_nearby(facts, u.condition, day)
        if note:
            notes.append(f"{u.condition}: {note}")
            out.warnings.append(
                {
                    "nhs_number": x.nhs_number,
                    "patient_id": str(x.patient_id),
                    "condition": u.condition,
                    "reason": f"{u.condition}: {note}",
                }
            )
    out.keep.append((x, tuple(kept), "; ".join(notes) or None))


def _uncoded_nearby(facts: PatientFacts, cond: str, day: dt.date) -> str | None:
    """A letter without this condition's code 1-6 days away: backfill could make them clash."""
    coded = facts.of(cond).invites
    for d in sorted(facts.uncoded_dates()):
        if d not in coded and 0 < abs((day - d).days) < MIN_GAP_DAYS:
            return (
                f"an invitation coded without the {cond} code on {d.isoformat()} is "
                f"{abs((day - d).days)} days away; if backfill adds the {cond} code there, "
                "the two will be under 7 days apart"
            )
    return None


def judge_all(
    session: Session,
    b: Any,
    invited: list[Invitee],
    day: dt.date,
    *,
    staff_out: Collection[int] = (),
    sending: bool = False,
) -> tuple[Outcome, Catalogue]:
    """The rule on `day` for every invitee of batch `b` (staff_out: taken out by staff).

    `sending` (confirm and its preview): once the batch's letters were made, only patients
    they were made for can be coded; one ticked again or added since got no letter."""
    catalogue = load_catalogue(session, b.practice_id)
    interval = get_settings(session, b.practice_id).stage_interval_days
    with no_cycle_collection():
        decisions, facts = decide_all(session, b, invited, catalogue, day)
    no_code = catalogue.no_code_conditions(QofYear(b.qof_year))
    out = Outcome()
    made = b.letters_made_on if sending else None
    for x in invited:
        if x.patient_id in staff_out:
            out.dropped.append((x, "excluded by staff at confirm", True))
        elif made is not None and x.letter_number is None:
            out.dropped.append((x, no_letter_made(made), False))
        else:
            f = facts[x.patient_id]
            judge(
                x, decisions[x.patient_id], f, day=day, interval=interval, out=out, no_code=no_code
            )
    return out, catalogue


def no_letter_made(made: dt.date) -> str:
    return (
        f"not in the letters or texts made on {made.day} {made:%B %Y} (ticked again or added "
        "since, or nothing could be sent to them): not coded; make the letters again to "
        "include them"
    )
