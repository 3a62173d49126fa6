"""PCA status of every patient-condition on a register, from the one invitation rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue
from recall.domain.invitations import PatientFacts, RegisterSpan, pca_status
from recall.domain.pca import PcaResult, PcaStatus
from recall.domain.qof_year import QofYear, qof_year_of
from recall.services.infra.bulk_objects import no_cycle_collection
from recall.store.history_repo import (
    History,
    PatientDates,
    alive_and_registered,
    facts_from_dates,
    load_histories,
    load_history,
    registers_by_practice,
    registers_with_dates,
)

Key = tuple[int, str]
_NO_DATES: PatientDates = (None, None, None, None)


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
    with no_cycle_collection():
        registers, dates = registers_with_dates(
            session, practice_id=practice_id, patient_ids=patient_ids
        )
        entries = _register_entries(registers, dates, known, as_of)
        ids = {pid for pid, _ in entries} if patient_ids is not None else None
        hist = load_history(
            session,
            practice_id=practice_id,
            catalogue=catalogue,
            year=year,
            end=as_of,
            patient_ids=ids,
        )
        return _statuses(entries, registers, dates, hist, catalogue, as_of)


def _register_entries(
    registers: dict[int, list[RegisterSpan]],
    dates: dict[int, PatientDates],
    known: Collection[str],
    as_of: dt.date,
) -> list[Key]:
    """(patient, condition) for everyone alive, registered and on a known register."""
    return [
        (pid, span.condition)
        for pid, spans in registers.items()
        if alive_and_registered(dates[pid], as_of)
        for span in spans
        if span.condition in known and span.active_on(as_of)
    ]


def pca_for_practices(
    session: Session, *, catalogues: Mapping[int, Catalogue], as_of: dt.date
) -> dict[int, dict[Key, PcaResult]]:
    """`pca_for_session` for every practice of the database (practice id -> results), each
    with its own catalogue, reading the registers and the journal once for all of them."""
    with no_cycle_collection():
        return _for_practices(session, catalogues, as_of)


def _for_practices(
    session: Session, catalogues: Mapping[int, Catalogue], as_of: dt.date
) -> dict[int, dict[Key, PcaResult]]:
    year = qof_year_of(as_of)
    by_practice = registers_by_practice(session)
    practice_of = {
        pid: practice
        for practice, (registers, _dates) in by_practice.items()
        if practice in catalogues
        for pid in registers
    }
    hists = load_histories(
        session, catalogues=catalogues, practice_of=practice_of, year=year, end=as_of
    )
    out: dict[int, dict[Key, PcaResult]] = {}
    for practice, catalogue in catalogues.items():
        registers, dates = by_practice.get(practice, ({}, {}))
        entries = _register_entries(registers, dates, set(catalogue.conditions), as_of)
        out[practice] = _statuses(entries, registers, dates, hists[practice], catalogue, as_of)
    return out


def _statuses(
    entries: list[Key],
    registers: dict[int, list[RegisterSpan]],
    dates: dict[int, PatientDates],
    hist: History,
    catalogue: Catalogue,
    as_of: dt.date,
) -> dict[Key, PcaResult]:
    """The one rule for each register entry, building a patient's facts only when needed."""
    year = hist.year
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
            f = facts[pid] = facts_from_dates(pid, dates.get(pid, _NO_DATES), registers, hist)
        out[key] = pca_status(f, cond, year=year, as_of=as_of, codeable=cond in codeable)
    return out
