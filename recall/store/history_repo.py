"""What each patient has had this QOF year, per condition, read from the coded journal.

One pass over the journal (imported events plus live codes this tool recorded, voided ones
excluded) sorts each entry into condition-specific invites, LTC stage codes, generic invites,
reviews and declines; `patient_facts` turns that into the rule engine's frozen fact set. The
PCA report, planning, letters, confirmation and the backfill planner all read it, so the whole
list is evaluated with one indexed query instead of one per patient.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from recall.domain.care import Target, bp_part, pair_readings
from recall.domain.catalogue import Catalogue
from recall.domain.invitations import (
    BatchStatus,
    ConditionHistory,
    InvitationStatus,
    PatientFacts,
    RegisterSpan,
)
from recall.domain.qof_year import QofYear
from recall.store.journal_repo import iter_coded_entries, iter_readings
from recall.store.models import (
    batch_t,
    invitation_condition_t,
    invitation_t,
    patient_t,
    register_t,
    response_t,
)

# Above this many patients a filtered query costs more than reading the practice and filtering.
_ID_FILTER_LIMIT = 10000

Key = tuple[int, str]


@dataclass(frozen=True)
class CodeRoles:
    """What each code means to the rules (equivalent codes of the profile included)."""

    specific: dict[str, frozenset[str]]  # code -> conditions it invites for
    review: dict[str, frozenset[str]]  # code -> conditions it marks reviewed
    decline: dict[str, frozenset[str]]  # code -> conditions declined / unsuitable
    stage: dict[str, int]  # LTC stage code -> stage number
    generic: frozenset[str]
    reading: dict[str, frozenset[str]] = field(default_factory=dict)  # code -> measured conds
    part: dict[str, str] = field(default_factory=dict)  # reading code -> sys | dia | ""

    @property
    def all_codes(self) -> set[str]:
        return {*self.specific, *self.review, *self.decline, *self.stage, *self.generic}


def _with_equivalents(catalogue: Catalogue, codes: Iterable[str]) -> set[str]:
    eq = catalogue.profile.equivalents
    back = {v: k for k, v in eq.items()}
    out: set[str] = set()
    for code in codes:
        out.add(code)
        if code in eq:
            out.add(eq[code])
        if code in back:
            out.add(back[code])
    return out


def code_roles(catalogue: Catalogue) -> CodeRoles:
    """Map every code the rules care about to its role(s)."""
    generic = frozenset(_with_equivalents(catalogue, catalogue.generic_codes))
    specific: dict[str, set[str]] = defaultdict(set)
    review: dict[str, set[str]] = defaultdict(set)
    decline: dict[str, set[str]] = defaultdict(set)
    for cond in catalogue:
        for code in _with_equivalents(catalogue, cond.condition_invite_codes(generic)):
            if code not in generic:
                specific[code].add(cond.key)
        for code in _with_equivalents(catalogue, cond.review_codes):
            review[code].add(cond.key)
        for code in _with_equivalents(catalogue, cond.decline_codes):
            decline[code].add(cond.key)
    reading: dict[str, set[str]] = defaultdict(set)
    part: dict[str, str] = {}
    for cond in catalogue:
        if cond.measured:
            for code in cond.review_codes:
                reading[code].add(cond.key)
                part[code] = bp_part(cond.review.term(code))
    stage: dict[str, int] = {}
    for number, sc in catalogue.profile.stage_codes.items():
        for code in _with_equivalents(catalogue, [sc.code]):
            stage[code] = number
    return CodeRoles(
        specific={k: frozenset(v) for k, v in specific.items()},
        review={k: frozenset(v) for k, v in review.items()},
        decline={k: frozenset(v) for k, v in decline.items()},
        stage=stage,
        generic=generic,
        reading={k: frozenset(v) for k, v in reading.items()},
        part=part,
    )


@dataclass
class History:
    """Dates per patient (and condition) inside one window of one QOF year."""

    year: QofYear
    start: dt.date
    end: dt.date
    specific: dict[Key, set[dt.date]] = field(default_factory=dict)
    review: dict[Key, set[dt.date]] = field(default_factory=dict)
    decline: dict[Key, set[dt.date]] = field(default_factory=dict)
    stage: dict[int, dict[int, set[dt.date]]] = field(default_factory=dict)
    generic: dict[int, set[dt.date]] = field(default_factory=dict)
    responses: dict[Key, tuple[str, dt.date]] = field(default_factory=dict)
    readings: dict[Key, list[tuple[dt.date, str, str | None]]] = field(default_factory=dict)
    letters: dict[Key, set[dt.date]] = field(default_factory=dict)  # sent, no code needed
    targets: dict[str, Target] = field(default_factory=dict)  # measured conditions' targets

    def invites(self, patient_id: int, condition: str) -> set[dt.date]:
        return self.specific.get((patient_id, condition), set())

    def reviews(self, patient_id: int, condition: str) -> set[dt.date]:
        return self.review.get((patient_id, condition), set())

    def declines(self, patient_id: int, condition: str) -> set[dt.date]:
        return self.decline.get((patient_id, condition), set())

    def stage_dates(self, patient_id: int) -> dict[int, set[dt.date]]:
        return self.stage.get(patient_id, {})

    def generic_dates(self, patient_id: int) -> set[dt.date]:
        return self.generic.get(patient_id, set())

    def other_dates(self, patient_id: int) -> set[dt.date]:
        """Generic and LTC stage code dates: invitations that lack a condition code."""
        out = set(self.generic.get(patient_id, ()))
        for days in self.stage.get(patient_id, {}).values():
            out |= days
        return out


def load_history(
    session: Session,
    *,
    practice_id: int,
    catalogue: Catalogue,
    year: QofYear,
    end: dt.date | None = None,
    patient_ids: Collection[int] | None = None,
    roles: CodeRoles | None = None,
    within: Select[Any] | None = None,
) -> History:
    """Read the journal for `year` (1 April to `end`, default 31 March) in one query.

    `within`: SQL selecting a superset of `patient_ids` (a batch's patients), so the queries
    carry one subquery instead of thousands of ids."""
    roles = roles or code_roles(catalogue)
    stop = min(end, year.end) if end else year.end
    hist = History(year=year, start=year.start, end=stop, targets=catalogue.targets(year))
    wanted = set(patient_ids) if patient_ids is not None else None
    query_ids = _query_ids(wanted, within)
    if wanted is not None and not wanted:
        return hist
    entries = iter_coded_entries(
        session,
        practice_id=practice_id,
        codes=roles.all_codes,
        start=year.start,
        end=stop,
        patient_ids=query_ids,
        within=within,
    )
    if wanted is not None and query_ids is None:
        entries = (row for row in entries if row[0] in wanted)
    _file_entries(hist, roles, entries)
    readings = iter_readings(
        session,
        practice_id=practice_id,
        codes=_reading_codes(roles, hist),
        start=year.start,
        end=stop,
        patient_ids=query_ids,
        within=within,
    )
    if wanted is not None and query_ids is None:
        readings = (row for row in readings if row[0] in wanted)
    _file_readings(hist, roles, readings)
    r = response_t
    q = select(r.c.patient_id, r.c.condition, r.c.kind, r.c.on).where(
        r.c.qof_year == year.start_year
    )
    q = _restrict(q, r.c.patient_id, query_ids, within)
    for pid, cond, kind, on in session.execute(q):
        if wanted is None or pid in wanted:
            hist.responses[(pid, cond)] = (kind, on)
    uncoded = catalogue.no_code_conditions(year)
    if uncoded:
        _load_letters(session, hist, practice_id, uncoded, query_ids, wanted, within)
    return hist


def load_histories(
    session: Session,
    *,
    catalogues: Mapping[int, Catalogue],
    practice_of: Mapping[int, int],
    year: QofYear,
    end: dt.date | None = None,
) -> dict[int, History]:
    """`load_history` for every practice of the database at once (practice id -> History),
    each read with its own catalogue: the journal is read in one query for all of them, not
    once per practice. `practice_of`: patient id -> practice id of the patients wanted."""
    stop = min(end, year.end) if end else year.end
    roles = {pid: code_roles(cat) for pid, cat in catalogues.items()}
    hists = {
        pid: History(year=year, start=year.start, end=stop, targets=cat.targets(year))
        for pid, cat in catalogues.items()
    }
    rows: dict[int, list[Any]] = {pid: [] for pid in catalogues}
    codes = set().union(*(r.all_codes for r in roles.values()))
    entries = iter_coded_entries(
        session, practice_id=None, codes=codes, start=year.start, end=stop, raw=True
    )
    _by_practice(entries, practice_of, rows)
    for pid, hist in hists.items():
        _file_entries(hist, roles[pid], rows[pid])
        rows[pid] = []
    wanted = {pid: _reading_codes(roles[pid], hists[pid]) for pid in hists}
    readings = iter_readings(
        session,
        practice_id=None,
        codes=set().union(*wanted.values()),
        start=year.start,
        end=stop,
    )
    _by_practice(readings, practice_of, rows)
    for pid, hist in hists.items():
        mine = wanted[pid]
        _file_readings(hist, roles[pid], (row for row in rows[pid] if row[2] in mine))
    r = response_t
    q = select(r.c.patient_id, r.c.condition, r.c.kind, r.c.on).where(
        r.c.qof_year == year.start_year
    )
    for patient, cond, kind, on in session.execute(q):
        practice = practice_of.get(patient)
        if practice in hists:
            hists[practice].responses[(patient, cond)] = (kind, on)
    for pid, hist in hists.items():
        uncoded = catalogues[pid].no_code_conditions(year)
        if uncoded:
            _load_letters(session, hist, pid, uncoded, None, None)
    return hists


def _by_practice(
    rows: Iterable[Sequence[Any]], practice_of: Mapping[int, int], out: dict[int, list[Any]]
) -> None:
    """Deal rows whose first column is a patient id out to that patient's practice."""
    for row in rows:
        practice = practice_of.get(row[0])
        if practice is not None:
            bucket = out.get(practice)
            if bucket is not None:
                bucket.append(row)


def _reading_codes(roles: CodeRoles, hist: History) -> set[str]:
    return {c for c, conds in roles.reading.items() if conds & set(hist.targets)}


def _file_entries(hist: History, roles: CodeRoles, rows: Iterable[Sequence[Any]]) -> None:
    """Sort coded-journal rows (patient, date, code, ...) into `hist` by the codes' roles."""
    h_spec, h_rev, h_dec, h_stage, h_gen = (
        hist.specific,
        hist.review,
        hist.decline,
        hist.stage,
        hist.generic,
    )
    roles_of = _roles_by_code(roles)
    for row in rows:
        role = roles_of.get(row[2])
        if role is None:
            continue
        pid, day = row[0], row[1]
        specific, review, decline, number, generic = role
        for c in specific:
            h_spec.setdefault((pid, c), set()).add(day)
        for c in review:
            h_rev.setdefault((pid, c), set()).add(day)
        for c in decline:
            h_dec.setdefault((pid, c), set()).add(day)
        if number is not None:
            h_stage.setdefault(pid, {}).setdefault(number, set()).add(day)
        if generic:
            h_gen.setdefault(pid, set()).add(day)


_Role = tuple[frozenset[str], frozenset[str], frozenset[str], int | None, bool]


def _roles_by_code(roles: CodeRoles) -> dict[str, _Role]:
    """Each code's roles in one tuple, so filing a journal row is one look-up."""
    none: frozenset[str] = frozenset()
    return {
        code: (
            roles.specific.get(code, none),
            roles.review.get(code, none),
            roles.decline.get(code, none),
            roles.stage.get(code),
            code in roles.generic,
        )
        for code in roles.all_codes
    }


def _file_readings(hist: History, roles: CodeRoles, rows: Iterable[Sequence[Any]]) -> None:
    """Measured conditions' readings (patient, date, code, value) into `hist`."""
    reading, part, out = roles.reading, roles.part, hist.readings
    for pid, day, code, value in rows:
        for c in reading[code]:
            out.setdefault((pid, c), []).append((day, part.get(code, ""), value))


def _query_ids(wanted: set[int] | None, within: Select[Any] | None) -> set[int] | None:
    """The ids to put in the SQL itself: none when a subquery narrows it, or too many."""
    if within is not None or wanted is None or len(wanted) > _ID_FILTER_LIMIT:
        return None
    return wanted


_Q = TypeVar("_Q", bound=Select[Any])


def _restrict(
    q: _Q, column: Any, query_ids: Collection[int] | None, within: Select[Any] | None
) -> _Q:
    if within is not None:
        return q.where(column.in_(within))
    if query_ids is not None:
        return q.where(column.in_(sorted(query_ids)))
    return q


def _load_letters(
    session: Session,
    hist: History,
    practice_id: int,
    conditions: Collection[str],
    query_ids: Collection[int] | None,
    wanted: set[int] | None,
    within: Select[Any] | None = None,
) -> None:
    """Send dates of this tool's sent letters for conditions that need no QOF code that year:
    no code is recorded for them, so the letter itself is their invitation's only trace."""
    ic, i, b = invitation_condition_t, invitation_t, batch_t
    q = (
        select(ic.c.patient_id, ic.c.condition, b.c.sent_on)
        .join(i, i.c.id == ic.c.invitation_id)
        .join(b, b.c.id == i.c.batch_id)
        .where(
            b.c.practice_id == practice_id,
            ic.c.qof_year == hist.year.start_year,
            ic.c.live.is_(True),
            ic.c.condition.in_(sorted(conditions)),
            i.c.status == InvitationStatus.SENT.value,
            b.c.status == BatchStatus.SENT.value,
            b.c.sent_on.is_not(None),
            b.c.sent_on >= hist.start,
            b.c.sent_on <= hist.end,
        )
    )
    q = _restrict(q, ic.c.patient_id, query_ids, within)
    for pid, cond, on in session.execute(q):
        if wanted is None or pid in wanted:
            hist.letters.setdefault((pid, cond), set()).add(on)


def load_registers(
    session: Session,
    *,
    practice_id: int,
    patient_ids: Collection[int] | None = None,
    within: Select[Any] | None = None,
) -> dict[int, list[RegisterSpan]]:
    """Register entries per patient (all of them; callers check `active_on`)."""
    rg, p = register_t, patient_t
    q = (
        select(rg.c.patient_id, rg.c.condition, rg.c.diagnosed_on, rg.c.resolved_on)
        .join(p, p.c.id == rg.c.patient_id)
        .where(p.c.practice_id == practice_id)
    )
    wanted = set(patient_ids) if patient_ids is not None else None
    q = _restrict(q, rg.c.patient_id, _query_ids(wanted, within), within)
    out: dict[int, list[RegisterSpan]] = {}
    for pid, cond, since, until in session.execute(q):
        if wanted is None or pid in wanted:
            out.setdefault(pid, []).append(RegisterSpan(cond.upper(), since, until))
    return out


PatientDates = tuple[dt.date | None, dt.date | None, dt.date | None, dt.date | None]

# a register entry and its patient's dates: (patient id, condition, since, until,
# registered_on, deregistered_on, date_of_death, date_of_birth)
_REGISTER_WITH_DATES = (
    register_t.c.patient_id,
    register_t.c.condition,
    register_t.c.diagnosed_on,
    register_t.c.resolved_on,
    patient_t.c.registered_on,
    patient_t.c.deregistered_on,
    patient_t.c.date_of_death,
    patient_t.c.date_of_birth,
)


def registers_with_dates(
    session: Session, *, practice_id: int, patient_ids: Collection[int] | None = None
) -> tuple[dict[int, list[RegisterSpan]], dict[int, PatientDates]]:
    """Register entries per patient and each such patient's (registered_on, deregistered_on,
    date_of_death, date_of_birth), in one query: a PCA pass needs both for everyone on a
    register, and nobody else."""
    rg, p = register_t, patient_t
    q = (
        select(*_REGISTER_WITH_DATES)
        .join(p, p.c.id == rg.c.patient_id)
        .where(p.c.practice_id == practice_id)
    )
    wanted = set(patient_ids) if patient_ids is not None else None
    q = _restrict(q, rg.c.patient_id, _query_ids(wanted, None), None)
    registers: dict[int, list[RegisterSpan]] = {}
    dates: dict[int, PatientDates] = {}
    for pid, cond, since, until, reg, dereg, died, born in session.execute(q):
        if wanted is None or pid in wanted:
            registers.setdefault(pid, []).append(RegisterSpan(cond.upper(), since, until))
            dates[pid] = (reg, dereg, died, born)
    return registers, dates


def registers_by_practice(
    session: Session,
) -> dict[int, tuple[dict[int, list[RegisterSpan]], dict[int, PatientDates]]]:
    """`registers_with_dates` for every practice of the database, in one query:
    practice id -> (register entries per patient, that patient's dates)."""
    rg, p = register_t, patient_t
    q = select(p.c.practice_id, *_REGISTER_WITH_DATES).join(p, p.c.id == rg.c.patient_id)
    out: dict[int, tuple[dict[int, list[RegisterSpan]], dict[int, PatientDates]]] = {}
    for practice, pid, cond, since, until, reg, dereg, died, born in session.execute(q).all():
        mine = out.get(practice)
        if mine is None:
            mine = out[practice] = ({}, {})
        mine[0].setdefault(pid, []).append(RegisterSpan(cond.upper(), since, until))
        mine[1][pid] = (reg, dereg, died, born)
    return out


def alive_and_registered(dates: PatientDates, day: dt.date) -> bool:
    """`alive_and_registered_clause` for dates already read."""
    registered, deregistered, died, _born = dates
    return (
        (died is None or died > day)
        and (deregistered is None or deregistered > day)
        and (registered is None or registered <= day)
    )


def alive_and_registered_clause(day: dt.date) -> ColumnElement[bool]:
    """SQL condition: the patient is alive and registered on `day`."""
    p = patient_t
    return and_(
        or_(p.c.date_of_death.is_(None), p.c.date_of_death > day),
        or_(p.c.deregistered_on.is_(None), p.c.deregistered_on > day),
        or_(p.c.registered_on.is_(None), p.c.registered_on <= day),
    )


def register_pairs(
    session: Session,
    *,
    practice_id: int,
    as_of: dt.date,
    patient_ids: Collection[int] | None = None,
) -> list[tuple[int, str]]:
    """(patient, condition) for everyone alive, registered and on a register at `as_of`."""
    p, rg = patient_t, register_t
    q = (
        select(rg.c.patient_id, rg.c.condition)
        .join(p, p.c.id == rg.c.patient_id)
        .where(
            p.c.practice_id == practice_id,
            alive_and_registered_clause(as_of),
            or_(rg.c.diagnosed_on.is_(None), rg.c.diagnosed_on <= as_of),
            or_(rg.c.resolved_on.is_(None), rg.c.resolved_on > as_of),
        )
    )
    wanted = set(patient_ids) if patient_ids is not None else None
    if wanted is not None and len(wanted) <= _ID_FILTER_LIMIT:
        q = q.where(rg.c.patient_id.in_(sorted(wanted)))
    return [
        (pid, cond.upper())
        for pid, cond in session.execute(q).all()
        if wanted is None or pid in wanted
    ]


def patient_dates(
    session: Session, *, practice_id: int, patient_ids: Collection[int] | None = None
) -> dict[int, tuple[dt.date | None, dt.date | None, dt.date | None, dt.date | None]]:
    """(registered_on, deregistered_on, date_of_death, date_of_birth) per patient."""
    p = patient_t
    q = select(
        p.c.id, p.c.registered_on, p.c.deregistered_on, p.c.date_of_death, p.c.date_of_birth
    ).where(p.c.practice_id == practice_id)
    wanted = set(patient_ids) if patient_ids is not None else None
    if wanted is not None and len(wanted) <= _ID_FILTER_LIMIT:
        q = q.where(p.c.id.in_(sorted(wanted)))
    return {
        r.id: (r.registered_on, r.deregistered_on, r.date_of_death, r.date_of_birth)
        for r in session.execute(q)
        if wanted is None or r.id in wanted
    }


_NO_SPANS: list[RegisterSpan] = []


def patient_facts(
    patient: Any, registers: dict[int, list[RegisterSpan]], hist: History
) -> PatientFacts:
    """The rule engine's fact set for one patient (`patient` has id, the three dates and,
    for age-banded targets, date_of_birth)."""
    dates = (
        patient.registered_on,
        patient.deregistered_on,
        patient.date_of_death,
        getattr(patient, "date_of_birth", None),
    )
    return facts_from_dates(patient.id, dates, registers, hist)


_NONE: frozenset[dt.date] = frozenset()


def facts_from_dates(
    pid: int, dates: PatientDates, registers: dict[int, list[RegisterSpan]], hist: History
) -> PatientFacts:
    """`patient_facts` from the dates `registers_with_dates` read (registered, deregistered,
    died, born): a PCA pass builds thousands of these."""
    spans = tuple(registers.get(pid, _NO_SPANS))
    specific, review, decline = hist.specific, hist.review, hist.decline
    responses, h_readings, h_letters = hist.responses, hist.readings, hist.letters
    history = {}
    for c in {s.condition for s in spans}:
        key = (pid, c)
        invites, reviews = specific.get(key), review.get(key)
        declines, response = decline.get(key), responses.get(key)
        readings, letters = h_readings.get(key), h_letters.get(key)
        if invites or reviews or declines or response or readings or letters:
            history[c] = ConditionHistory(
                invites=frozenset(invites) if invites else _NONE,
                reviews=frozenset(reviews) if reviews else _NONE,
                declines=frozenset(declines) if declines else _NONE,
                response=response,
                readings=pair_readings(readings) if readings else (),
                letters=frozenset(letters) if letters else _NONE,
            )
    stage = hist.stage.get(pid)
    generic = hist.generic.get(pid)
    registered, deregistered, died, born = dates
    return PatientFacts(
        patient_id=pid,
        registered_on=registered,
        deregistered_on=deregistered,
        date_of_death=died,
        registers=spans,
        history=history,
        stage_codes={n: frozenset(d) for n, d in stage.items()} if stage else {},
        generic=frozenset(generic) if generic else _NONE,
        date_of_birth=born,
        targets=hist.targets,
    )
