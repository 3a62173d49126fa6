"""Who a batch looks at, with each patient's facts, and the rule's decision for each.

1st letters look at one recall month's patients. A patient whose round has started this year
and who joined a register since (a mid-year condition) catches up in the current month's list,
and only there, so every patient is in exactly one month's list and the months add up. 2nd and
3rd letters look at every patient invited this year, whatever their recall month, so no
non-responder from April is forgotten in November.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue
from recall.domain.invitations import ORDINAL, Decision, PatientFacts, decide
from recall.domain.qof_year import QofYear, qof_year_of
from recall.domain.recall_month import RecallRule, recall_month
from recall.services.settings import PracticeSettings
from recall.store import batches_repo as repo
from recall.store.history_repo import (
    History,
    load_history,
    load_registers,
    patient_facts,
)
from recall.store.journal_repo import iter_coded_entries


@dataclass(frozen=True)
class Cohort:
    """Candidate patients (rows with name and address) and their facts for one QOF year."""

    patients: list[Any]
    facts: dict[int, PatientFacts]
    year: QofYear
    catch_up: frozenset[int] = frozenset()  # outside the recall month: a mid-year condition

    def decide(
        self, catalogue: Catalogue, *, send_date: dt.date, interval: int
    ) -> dict[int, Decision]:
        """The one rule, for every candidate (patients on no catalogue register are left out)."""
        keys = tuple(catalogue.conditions)
        not_ready = blocked_conditions(catalogue)
        out = {}
        for p in self.patients:
            d = decide(
                self.facts[p.id],
                send_date=send_date,
                year=self.year,
                conditions=keys,
                not_ready=not_ready,
                interval=interval,
            )
            if d.due or d.not_due or d.patient_why is not None:
                out[p.id] = d
        return out


def blocked_conditions(catalogue: Catalogue) -> dict[str, str]:
    """Conditions the tool cannot code yet, with the reason staff see."""
    out = {}
    for c in catalogue:
        r = c.readiness(catalogue.profile)
        if not r.ready:
            out[c.key] = r.reason
    return out


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


def month_patients(
    session: Session,
    *,
    practice_id: int,
    settings: PracticeSettings,
    catalogue: Catalogue,
    month: int,
    send_date: dt.date,
) -> list[Any]:
    """Patients on any register whose recall month is `month`."""
    birth = settings.recall_rule == RecallRule.BIRTH_MONTH
    rows = repo.patients_on_registers(session, practice_id, birth_month=month if birth else None)
    last_review: dict[int, dt.date] = {}
    if settings.recall_rule == RecallRule.REVIEW_ANNIVERSARY:
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


def _facts(
    session: Session,
    practice_id: int,
    catalogue: Catalogue,
    year: QofYear,
    patients: list[Any],
    hist: History | None = None,
) -> dict[int, PatientFacts]:
    ids = {p.id for p in patients}
    registers = load_registers(session, practice_id=practice_id, patient_ids=ids)
    if hist is None:
        hist = load_history(
            session, practice_id=practice_id, catalogue=catalogue, year=year, patient_ids=ids
        )
    return {p.id: patient_facts(p, registers, hist) for p in patients}


def _started(f: PatientFacts) -> bool:
    """Some invitation this year already (their round has begun); facts hold one year."""
    return bool(f.uncoded_dates()) or any(h.invites for h in f.history.values())


def load_cohort(
    session: Session,
    *,
    practice_id: int,
    settings: PracticeSettings,
    catalogue: Catalogue,
    stage: int,
    month: int,
    send_date: dt.date,
    patient_ids: Collection[int] | None = None,
) -> Cohort:
    """The candidates for a stage on `send_date` (all given ids for an ad-hoc invitation)."""
    year = qof_year_of(send_date)
    if patient_ids is not None:
        rows = repo.patients_by_ids(session, practice_id, patient_ids)
        return Cohort(rows, _facts(session, practice_id, catalogue, year, rows), year)
    if stage == 1:
        rows = month_patients(
            session,
            practice_id=practice_id,
            settings=settings,
            catalogue=catalogue,
            month=month,
            send_date=send_date,
        )
        joined = {
            r.id: r for r in repo.patients_joining_registers(session, practice_id, year.start)
        }
        inside = {r.id for r in rows}
        facts = _facts(
            session,
            practice_id,
            catalogue,
            year,
            rows + [r for i, r in joined.items() if i not in inside],
        )
        late = {i for i in joined if _started(facts[i])}
        if month == send_date.month:  # the current month's list: catch-ups join it
            extra = [joined[i] for i in sorted(late) if i not in inside]
            keep = rows + extra
        else:  # a past month's list: its catch-ups are in the current month's list
            keep = [r for r in rows if r.id not in late]
        ids = {r.id for r in keep}
        facts = {i: f for i, f in facts.items() if i in ids}
        return Cohort(keep, facts, year, frozenset(late & ids - inside))
    hist = load_history(session, practice_id=practice_id, catalogue=catalogue, year=year)
    invited = {pid for pid, _c in hist.specific} | set(hist.stage) | set(hist.generic)
    rows = [r for r in repo.patients_on_registers(session, practice_id) if r.id in invited]
    return Cohort(rows, _facts(session, practice_id, catalogue, year, rows, hist), year)


def letter_stage_reason(decision: Decision, stage: int, elsewhere: Mapping[str, int]) -> str:
    """Why a patient with conditions due is not in this stage's list."""
    if elsewhere:
        cond, bid = sorted(elsewhere.items())[0]
        return f"{cond}: already in batch {bid} for this invitation"
    return (
        f"due the {ORDINAL[decision.stage]} letter ({', '.join(decision.conditions)}), "
        f"not the {ORDINAL[stage]}"
    )
