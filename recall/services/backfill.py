"""Backfill: plan (dry run) and apply the retrospective clean-up of invitation coding.

The plan reads the whole practice in a few set-based queries (patients, registers, and the
coded journal through `journal_repo`), hands each patient to the pure planner in
`recall.domain.backfill`, and predicts the PCA status change with the same rule the PCA report
uses. Apply recomputes the plan inside one write transaction, so it records exactly what is
still missing: a second apply finds nothing to add.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recall.domain.backfill import (
    BackfillPlan,
    BackfillRules,
    PatientJournal,
    PlannedCode,
    Problem,
    Reason,
    StatusChange,
    Window,
    plan,
    status_changes,
)
from recall.domain.care import Reading, pair_readings
from recall.domain.catalogue import Catalogue
from recall.domain.invitations import RegisterSpan
from recall.domain.pca import PcaStatus
from recall.domain.qof_year import QofYear, qof_year_of
from recall.services.catalogue import load_catalogue
from recall.services.errors import RecallError
from recall.services.history import codeable_conditions
from recall.services.infra.bulk_objects import no_cycle_collection
from recall.services.infra.database import database_id
from recall.services.infra.files import protected_for
from recall.services.infra.operator import current_operator
from recall.services.practice_scope import resolve_practice_id
from recall.services.worksheet import (
    check_worksheet_path,
    worksheet_rows,
    write_worksheet_csv,
    write_worksheet_docx,
)
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.history_repo import (
    CodeRoles,
    alive_and_registered_clause,
    code_roles,
    load_registers,
)
from recall.store.journal_repo import iter_coded_entries, iter_readings
from recall.store.models import (
    backfill_run_t,
    patient_t,
    practice_t,
    recorded_code_t,
    utcnow,
)

REASON_TEXT = {
    Reason.GENERIC_WITHOUT_LTC: "generic QOF invite without an LTC stage code",
    Reason.LTC_WITHOUT_CONDITION_CODE: "LTC stage code without the condition's invite code",
}
PROBLEM_TEXT = {
    Problem.TOO_CLOSE: "invited twice but less than 7 days apart: send another invitation",
    Problem.BEFORE_REVIEW: "reviewed after the invitation: the review counts, added codes don't",
    Problem.OUTSIDE_YEAR: "invited just before 1 April: that invitation counts for last year",
    Problem.BEFORE_REGISTRATION: "invited before joining the practice: no codes added",
}


@dataclass(frozen=True)
class BackfillItem:
    patient_id: int
    nhs_number: str
    code: str
    term: str
    date: dt.date
    condition: str | None
    stage: int
    reason: str
    change: str | None = None  # e.g. "HF: invited_once -> pca_eligible"


@dataclass(frozen=True)
class BackfillGroup:
    """One bulk-add in the clinical system: this code, dated this day, for `count` patients."""

    date: dt.date
    code: str
    term: str
    count: int


@dataclass(frozen=True)
class BlockedItem:
    nhs_number: str
    date: dt.date
    condition: str | None
    stage: int
    why: str


@dataclass(frozen=True)
class BlockedCondition:
    condition: str | None  # None: the LTC stage code itself is missing from the profile
    name: str
    codes: int
    patients: int
    why: str
    fix: str


@dataclass(frozen=True)
class CannotFixItem:
    nhs_number: str
    condition: str | None
    problem: str
    dates: tuple[dt.date, ...]
    detail: str


@dataclass(frozen=True)
class EligibleChange:
    nhs_number: str
    condition: str
    before: str
    after: str


@dataclass(frozen=True)
class BackfillSummary:
    patients_checked: int
    patients_with_items: int
    items: int
    stage_codes: int  # step 1
    condition_codes: int  # step 2
    by_condition: dict[str, int]
    groups: int
    blocked: int
    blocked_by_condition: dict[str, int]
    cannot_fix: dict[str, int]
    becomes_eligible: int  # (patient, condition) pairs that turn pca_eligible
    becomes_eligible_patients: int
    becomes_eligible_by_condition: dict[str, int]
    eligible_before: dict[str, int]  # PCA-eligible now, per condition (year of as_of)
    eligible_after: dict[str, int]  # predicted after apply


@dataclass(frozen=True)
class BackfillPlanResult:
    date_from: dt.date
    date_to: dt.date
    as_of: dt.date
    qof_year: str
    summary: BackfillSummary
    items: list[BackfillItem]
    groups: list[BackfillGroup]
    blocked: list[BlockedCondition]
    blocked_items: list[BlockedItem]
    cannot_fix: list[CannotFixItem]
    becomes_eligible: list[EligibleChange]


@dataclass(frozen=True)
class BackfillApplyResult:
    plan: BackfillPlanResult
    run_id: int | None  # None when there was nothing to add
    recorded: int
    worksheet: Path | None = None
    notes: list[str] = field(default_factory=list)
    still_missing: int = 0  # backfill codes in the window not yet seen in the clinical system


@dataclass(frozen=True)
class _Loaded:
    """Everything the plan needs, read in a few set-based queries."""

    catalogue: Catalogue
    journals: list[PatientJournal]
    nhs: dict[int, str]
    known: frozenset[str]  # condition keys in the catalogue


def resolve_window(
    date_from: dt.date | None, date_to: dt.date | None, as_of: dt.date | None, today: dt.date
) -> tuple[Window, dt.date]:
    """The window and as-of date; the default is the current QOF year up to today.

    PCA status is judged at `as_of`, by default the window's last day (or today, if sooner),
    so a clean-up of last year is judged at last year's 31 March.
    """
    if date_from is None:
        date_from = qof_year_of(date_to or as_of or today).start
    if date_to is None:
        date_to = max(min(as_of or today, qof_year_of(date_from).end), date_from)
    if date_to < date_from:
        raise RecallError(f"--to {date_to} is before --from {date_from}")
    if as_of is None:
        as_of = min(today, date_to)
    return Window(date_from, date_to), as_of


def _rules(catalogue: Catalogue) -> BackfillRules:
    profile = catalogue.profile
    record: dict[str, dict[int, str]] = {}
    blocked: dict[str, str] = {}
    for cond in catalogue:
        ready = cond.readiness(profile)
        if ready.ready:
            record[cond.key] = {
                s: code for s in (1, 2, 3) if (code := cond.record_code_for(s)) is not None
            }
        else:
            blocked[cond.key] = ready.reason
    return BackfillRules(
        stage_codes={n: sc.code for n, sc in profile.stage_codes.items()},
        record_codes=record,
        blocked=blocked,
        code_needed=catalogue.invite_code_needed,
        targets=catalogue.targets,
    )


def _load(
    session: Session, practice_id: int, window: Window, as_of: dt.date, today: dt.date
) -> _Loaded:
    catalogue = load_catalogue(session, practice_id)
    roles = code_roles(catalogue)
    p = patient_t
    live: dict[int, dt.date | None] = {}
    nhs: dict[int, str] = {}
    born: dict[int, dt.date | None] = {}
    closed: set[int] = set()  # left or died since as_of: counted, but no longer codable
    rows = session.execute(
        select(
            p.c.id,
            p.c.nhs_number,
            p.c.registered_on,
            p.c.deregistered_on,
            p.c.date_of_death,
            p.c.date_of_birth,
        ).where(p.c.practice_id == practice_id, alive_and_registered_clause(as_of))
    )
    for pid, number, joined, left, died, dob in rows:
        live[pid] = joined
        nhs[pid] = number
        born[pid] = dob
        if (left is not None and left <= today) or (died is not None and died <= today):
            closed.add(pid)
    spans: dict[int, tuple[RegisterSpan, ...]] = {}
    for pid, entries in load_registers(session, practice_id=practice_id).items():
        if pid in live:
            spans[pid] = tuple(entries)

    generic: dict[int, set[dt.date]] = defaultdict(set)
    stages: dict[int, dict[dt.date, set[int]]] = defaultdict(lambda: defaultdict(set))
    specific: dict[int, dict[str, set[dt.date]]] = defaultdict(lambda: defaultdict(set))
    reviews: dict[int, dict[str, set[dt.date]]] = defaultdict(lambda: defaultdict(set))
    codes = {*roles.specific, *roles.review, *roles.stage, *roles.generic}
    for pid, day, code, _origin in iter_coded_entries(
        session, practice_id=practice_id, codes=codes, start=window.load_from, end=window.end
    ):
        if pid not in live:
            continue
        if code in roles.generic:
            generic[pid].add(day)
        number = roles.stage.get(code)
        if number is not None:
            stages[pid][day].add(number)
        for cond in roles.specific.get(code, ()):
            specific[pid][cond].add(day)
        for cond in roles.review.get(code, ()):
            reviews[pid][cond].add(day)

    readings = _readings(session, practice_id, roles, window, live)
    journals = [
        PatientJournal(
            patient_id=pid,
            generic=frozenset(generic.get(pid, ())),
            stages={d: frozenset(s) for d, s in stages[pid].items()} if pid in stages else {},
            specific={c: frozenset(d) for c, d in specific[pid].items()} if pid in specific else {},
            reviews={c: frozenset(d) for c, d in reviews[pid].items()} if pid in reviews else {},
            registers=spans.get(pid, ()),
            registered_on=live[pid],
            codable=pid not in closed,
            readings=readings.get(pid, {}),
            date_of_birth=born[pid],
        )
        for pid in sorted(set(generic) | set(stages) | set(specific) | set(reviews))
    ]
    return _Loaded(catalogue, journals, nhs, frozenset(catalogue.conditions))


def _readings(
    session: Session,
    practice_id: int,
    roles: CodeRoles,
    window: Window,
    live: Mapping[int, object],
) -> dict[int, dict[str, tuple[Reading, ...]]]:
    """Readings of the measured conditions per patient, paired as the history loader pairs
    them, so backfill judges care exactly as planning and `recall pca` do."""
    raw: dict[tuple[int, str], list[tuple[dt.date, str, str | None]]] = defaultdict(list)
    for pid, day, code, value in iter_readings(
        session,
        practice_id=practice_id,
        codes=set(roles.reading),
        start=window.load_from,
        end=window.end,
    ):
        if pid in live:
            for cond in roles.reading[code]:
                raw[(pid, cond)].append((day, roles.part.get(code, ""), value))
    out: dict[int, dict[str, tuple[Reading, ...]]] = defaultdict(dict)
    for (pid, cond), entries in raw.items():
        out[pid][cond] = pair_readings(entries)
    return out


def _changes(
    loaded: _Loaded, result: BackfillPlan, window: Window, as_of: dt.date
) -> dict[tuple[int, str, QofYear], StatusChange]:
    """PCA status before/after for every journal patient on a register at the as-of date."""
    by_patient: dict[int, list[PlannedCode]] = defaultdict(list)
    for item in result.items:
        by_patient[item.patient_id].append(item)
    out: dict[tuple[int, str, QofYear], StatusChange] = {}
    years = [(y, min(as_of, y.end)) for y in window.years() if min(as_of, y.end) >= y.start]
    known = loaded.known
    codeable = {y: codeable_conditions(loaded.catalogue, y) for y, _day in years}
    for journal in loaded.journals:
        items = by_patient.get(journal.patient_id, [])
        if not (items or journal.specific):
            continue  # without condition codes before or after, nobody can be eligible
        for year, seen_on in years:
            # as the PCA report counts: registers active on the day the status is judged
            conditions = sorted(
                {
                    s.condition
                    for s in journal.registers
                    if s.condition in known and s.active_on(seen_on)
                }
            )
            if not conditions:
                continue
            for change in status_changes(
                journal,
                items,
                year=year,
                as_of=seen_on,
                conditions=conditions,
                codeable=codeable[year],
                targets=loaded.catalogue.targets(year),
            ):
                out[(journal.patient_id, change.condition, year)] = change
    return out


def _items(
    loaded: _Loaded, result: BackfillPlan, changes: dict[tuple[int, str, QofYear], StatusChange]
) -> list[BackfillItem]:
    """Each planned code with its term and what it changes for the patient's PCA status."""
    catalogue = loaded.catalogue
    profile = catalogue.profile

    def term(code: str, condition: str | None, stage: int) -> str:
        if condition is None:
            sc = profile.stage_code(stage)
            return sc.term if sc is not None else ""
        cond = catalogue.get(condition)
        return cond.invite.term(code) if cond is not None else ""

    terms: dict[tuple[str, str | None, int], str] = {}
    items: list[BackfillItem] = []
    for i in result.items:
        key = (i.code, i.condition, i.stage)
        if key not in terms:
            terms[key] = term(*key)
        change = None
        if i.condition is not None:
            sc = changes.get((i.patient_id, i.condition, qof_year_of(i.date)))
            if sc is not None:
                change = sc.describe() if sc.changed else f"{i.condition}: {sc.after} (no change)"
        items.append(
            BackfillItem(
                patient_id=i.patient_id,
                nhs_number=loaded.nhs[i.patient_id],
                code=i.code,
                term=terms[key],
                date=i.date,
                condition=i.condition,
                stage=i.stage,
                reason=str(i.reason),
                change=change,
            )
        )
    return items


def _blocked(catalogue: Catalogue, result: BackfillPlan) -> list[BlockedCondition]:
    """Codes backfill may not add, per condition, with how to fix each."""
    blocked_patients: dict[str | None, set[int]] = defaultdict(set)
    blocked_codes: Counter[str | None] = Counter()
    blocked_why: dict[str | None, str] = {}
    for b in result.blocked:
        blocked_patients[b.condition].add(b.patient_id)
        blocked_codes[b.condition] += 1
        blocked_why[b.condition] = b.why
    blocked: list[BlockedCondition] = []
    for bkey in sorted(blocked_codes, key=lambda k: k or ""):
        bcond = catalogue.get(bkey) if bkey else None
        fix = bcond.readiness(catalogue.profile).fix if bcond is not None else ""
        if bkey is None:
            fix = "recall codes stage N CODE --term TEXT"
        blocked.append(
            BlockedCondition(
                condition=bkey,
                name=bcond.name if bcond is not None else (bkey or "LTC stage code"),
                codes=blocked_codes[bkey],
                patients=len(blocked_patients[bkey]),
                why=blocked_why[bkey],
                fix=fix,
            )
        )
    return blocked


def _eligibility(
    changes: dict[tuple[int, str, QofYear], StatusChange], nhs: dict[int, str], as_of: dt.date
) -> tuple[Counter[str], Counter[str], list[EligibleChange]]:
    """Eligible counts this year before and after, and who becomes eligible."""
    year_now = qof_year_of(as_of)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    eligible_keys: list[tuple[int, int, str]] = []
    for (pid, ckey, year), sc in changes.items():
        if year == year_now:
            before[ckey] += sc.before == PcaStatus.PCA_ELIGIBLE
            after[ckey] += sc.after == PcaStatus.PCA_ELIGIBLE
        if sc.becomes_eligible:
            eligible_keys.append((year.start_year, pid, ckey))
    eligible = []
    for start_year, pid, ckey in sorted(eligible_keys):
        sc = changes[(pid, ckey, QofYear(start_year))]
        eligible.append(EligibleChange(nhs[pid], ckey, str(sc.before), str(sc.after)))
    return before, after, eligible


def _build_result(
    loaded: _Loaded, result: BackfillPlan, window: Window, as_of: dt.date
) -> BackfillPlanResult:
    nhs = loaded.nhs
    changes = _changes(loaded, result, window, as_of)
    items = _items(loaded, result, changes)
    group_terms = {(i.date, i.code): i.term for i in items}
    groups = [BackfillGroup(d, c, group_terms[(d, c)], n) for d, c, n in result.groups()]
    blocked_items = [
        BlockedItem(nhs[b.patient_id], b.date, b.condition, b.stage, b.why) for b in result.blocked
    ]
    blocked = _blocked(loaded.catalogue, result)
    cannot = [
        CannotFixItem(nhs[f.patient_id], f.condition, str(f.problem), f.dates, f.detail)
        for f in result.cannot_fix
    ]
    before, after, eligible = _eligibility(changes, nhs, as_of)
    by_reason = result.count_by_reason()
    summary = BackfillSummary(
        patients_checked=result.patients,
        patients_with_items=len({i.patient_id for i in result.items}),
        items=len(items),
        stage_codes=by_reason[Reason.GENERIC_WITHOUT_LTC],
        condition_codes=by_reason[Reason.LTC_WITHOUT_CONDITION_CODE],
        by_condition=result.count_by_condition(),
        groups=len(groups),
        blocked=len(result.blocked),
        blocked_by_condition={(b.condition or "stage code"): b.codes for b in blocked},
        cannot_fix=dict(sorted(Counter(str(f.problem) for f in result.cannot_fix).items())),
        becomes_eligible=len(eligible),
        becomes_eligible_patients=len({e.nhs_number for e in eligible}),
        becomes_eligible_by_condition=dict(sorted(Counter(e.condition for e in eligible).items())),
        eligible_before={c: before[c] for c in sorted(before)},
        eligible_after={c: after[c] for c in sorted(after)},
    )
    return BackfillPlanResult(
        date_from=window.start,
        date_to=window.end,
        as_of=as_of,
        qof_year=qof_year_of(as_of).label,
        summary=summary,
        items=items,
        groups=groups,
        blocked=blocked,
        blocked_items=blocked_items,
        cannot_fix=cannot,
        becomes_eligible=eligible,
    )


def _plan_in_session(
    session: Session, practice_id: int, window: Window, as_of: dt.date, today: dt.date
) -> tuple[BackfillPlan, BackfillPlanResult]:
    with no_cycle_collection():
        loaded = _load(session, practice_id, window, as_of, today)
        result = plan(loaded.journals, _rules(loaded.catalogue), window)
        return result, _build_result(loaded, result, window, as_of)


def plan_backfill(
    db: Database,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    as_of: dt.date | None = None,
    *,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> BackfillPlanResult:
    """The dry run: what backfill would add, grouped for the clinical system; changes nothing."""
    today = today or dt.date.today()
    window, as_of = resolve_window(date_from, date_to, as_of, today)
    with db.read() as session:
        pid = resolve_practice_id(session, practice_id)
        assert pid is not None
        return _plan_in_session(session, pid, window, as_of, today)[1]


def _rows(
    result: BackfillPlanResult, run_id: int, pid: int, now: dt.datetime
) -> Iterator[dict[str, object]]:
    for i in result.items:
        yield {
            "patient_id": i.patient_id,
            "practice_id": pid,
            "code": i.code,
            "term": i.term,
            "date": i.date,
            "condition": i.condition,
            "stage": i.stage,
            "origin": "backfill",
            "backfill_run_id": run_id,
            "reconciled": False,
            "voided": False,
            "created_at": now,
        }


def _record_run(
    session: Session, pid: int, window: Window, result: BackfillPlanResult, who: str
) -> int:
    """The run's row, its codes (origin backfill) and the audit entry; the run's id."""
    now = utcnow()
    run_id = int(
        session.execute(  # type: ignore[attr-defined]
            insert(backfill_run_t).values(
                practice_id=pid,
                date_from=window.start,
                date_to=window.end,
                at=now,
                operator=who,
                items=len(result.items),
            )
        ).inserted_primary_key[0]
    )
    session.execute(insert(recorded_code_t), list(_rows(result, run_id, pid, now)))
    s = result.summary
    append_audit(
        session,
        operator=who,
        action="backfill.apply",
        practice_id=pid,
        details={
            "backfill_run_id": run_id,
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
            "codes": s.items,
            "stage_codes": s.stage_codes,
            "condition_codes": s.condition_codes,
            "by_condition": s.by_condition,
            "patients": s.patients_with_items,
            "becomes_eligible": s.becomes_eligible,
            "blocked": s.blocked,
        },
    )
    return run_id


def apply_backfill(
    db: Database,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    as_of: dt.date | None = None,
    *,
    today: dt.date | None = None,
    operator: str | None = None,
    practice_id: int | None = None,
    worksheet: Path | None = None,
    force: bool = False,
) -> BackfillApplyResult:
    """Record every planned code (origin `backfill`) in one transaction, and audit it.

    The plan is recomputed inside the transaction, and codes already recorded count as
    existing entries, so applying again adds nothing. A worksheet path that may not be
    written (the database, a link, someone else's file without `force`) is refused first,
    before any code is recorded.
    """
    if worksheet is not None:
        check_worksheet_path(
            worksheet, backfill_owner(db), force=force, protected=protected_for(db)
        )
    today = today or dt.date.today()
    window, as_of = resolve_window(date_from, date_to, as_of, today)
    who = operator or current_operator()
    run_id: int | None = None
    try:
        with db.write() as session:
            pid = resolve_practice_id(session, practice_id)
            assert pid is not None
            # One backfill at a time per practice (PostgreSQL row lock; SQLite's BEGIN
            # IMMEDIATE already serialises writers), so the plan sees any earlier apply.
            session.execute(select(practice_t.c.id).where(practice_t.c.id == pid).with_for_update())
            _, result = _plan_in_session(session, pid, window, as_of, today)
            if result.items:
                run_id = _record_run(session, pid, window, result, who)
    except IntegrityError:
        raise RecallError(
            "another terminal recorded backfill codes at the same time; nothing was changed "
            "here: run the backfill again (it only adds what is still missing)"
        ) from None
    notes: list[str] = []
    if run_id is None:
        notes.append("nothing new to record: every code backfill can add here is recorded already")
    else:
        notes.append(
            "add these codes in the clinical system (one bulk-add per date and code), then "
            "re-import its events and run `recall reconcile` to check none are missing"
        )
    outstanding = _outstanding_backfill_codes(db, window, practice_id)
    sheet = None
    if worksheet is not None:
        sheet = _write_worksheet(db, worksheet, run_id, outstanding, who, force=force)
        if run_id is None and outstanding:
            notes.append(
                f"the worksheet lists the {len(outstanding)} backfill codes from earlier runs "
                "that are not yet matched in the clinical system"
            )
    return BackfillApplyResult(
        result,
        run_id,
        len(result.items) if run_id else 0,
        sheet,
        notes,
        still_missing=len(outstanding),
    )


def _outstanding_backfill_codes(db: Database, window: Window, practice_id: int | None) -> list[int]:
    """Ids of live backfill codes in the window not yet seen in the clinical system."""
    r, p = recorded_code_t, patient_t
    with db.read() as session:
        pid = resolve_practice_id(session, practice_id)
        q = (
            select(r.c.id)
            .join(p, p.c.id == r.c.patient_id)
            .where(
                p.c.practice_id == pid,
                r.c.origin == "backfill",
                r.c.voided.is_(False),
                r.c.reconciled.is_(False),
                r.c.date >= window.start,
                r.c.date <= window.end,
            )
        )
        return [row[0] for row in session.execute(q)]


def backfill_owner(db: Database) -> str:
    """Who backfill worksheets belong to, for the output manifest."""
    return f"{database_id(db)}/backfill"


def _write_worksheet(
    db: Database,
    path: Path,
    run_id: int | None,
    outstanding: list[int],
    operator: str,
    *,
    force: bool = False,
) -> Path:
    """The coding worksheet (the engine's format) for this run, else for what is outstanding."""
    if run_id is not None:
        rows = worksheet_rows(db, backfill_run_id=run_id)
    else:
        rows = worksheet_rows(db, code_ids=outstanding)
    guard = protected_for(db)
    if path.suffix.lower() == ".docx":
        write_worksheet_docx(
            rows,
            path,
            "Coding worksheet: backfill",
            owner=backfill_owner(db),
            force=force,
            protected=guard,
        )
    else:
        write_worksheet_csv(rows, path, owner=backfill_owner(db), force=force, protected=guard)
    with db.write() as session:
        append_audit(
            session,
            operator=operator,
            action="worksheet.export",
            details={"backfill_run_id": run_id, "rows": len(rows)},
        )
    return path
