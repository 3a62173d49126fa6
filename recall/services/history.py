"""PCA status of every patient-condition on a register, from the one invitation rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from types import SimpleNamespace

from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue
from recall.domain.invitations import PatientFacts, pca_status
from recall.domain.pca import PcaResult, PcaStatus
from recall.domain.qof_year import QofYear, qof_year_of
from recall.store.history_repo import (
    alive_and_registered,
    load_history,
    patient_facts,
    registers_with_dates,
)

Key = tuple[int, str]


def codeable_conditions(catalogue: Catalogue, year: QofYear | None = None) -> frozenset[str]:
    """Conditions the tool can record a code for (so backfill can fix an uncoded letter);
    in `year`, not those whose invitations need no QOF code that year."""
    ready = frozenset(c.key for c in catalogue if c.readiness(catalogue.profile).ready)
    return ready - catalogue.no_code_conditions(year) if year is not None else ready


def pca_for_session(
    session: Session,
    *,
    practice_id: int,
    catalogue: Catalogue,
    as_of: dt.date,
    patient_ids: Collection[int] | None = None,
) -> dict[Key, PcaResult]:
    """PCA status of every (patient, condition) on a register at `as_of` (alive, registered).

    Only true invitations count: on or after the later of 1 April, registration and register
    entry (the engine's window), and an uncoded letter is `generic_only` only where backfill
    could add the condition's code.
    """
    year = qof_year_of(as_of)
    known = set(catalogue.conditions)
    registers, dates = registers_with_dates(
        session, practice_id=practice_id, patient_ids=patient_ids
    )
    entries = [
        (pid, span.condition)
        for pid, spans in registers.items()
        if alive_and_registered(dates[pid], as_of)
        for span in spans
        if span.condition in known and span.active_on(as_of)
    ]
    ids = {pid for pid, _ in entries} if patient_ids is not None else None
    hist = load_history(
        session, practice_id=practice_id, catalogue=catalogue, year=year, end=as_of, patient_ids=ids
    )
    codeable = codeable_conditions(catalogue, year)
    nothing = PcaResult(PcaStatus.NOT_INVITED)
    facts: dict[int, PatientFacts] = {}
    out: dict[Key, PcaResult] = {}
    specific, review, readings = hist.specific, hist.review, hist.readings
    for key in entries:
        pid, cond = key
        if (
            key not in specific
            and key not in review
            and key not in readings
            and pid not in hist.generic
            and pid not in hist.stage
        ):
            out[key] = nothing  # the common case, without building the fact set
            continue
        f = facts.get(pid)
        if f is None:
            reg, dereg, died, born = dates.get(pid, (None, None, None, None))
            row = SimpleNamespace(
                id=pid,
                registered_on=reg,
                deregistered_on=dereg,
                date_of_death=died,
                date_of_birth=born,
            )
            f = facts[pid] = patient_facts(row, registers, hist)
        out[key] = pca_status(f, cond, year=year, as_of=as_of, codeable=cond in codeable)
    return out
