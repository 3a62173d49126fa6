"""The backfill planner: which codes to add, on which historic dates, to repair invite coding.

Practices that coded invitations with only the generic QOF invite code, or with LTC stage codes
but no condition-specific codes, lose their non-responder exceptions. The clean-up has two
steps, both keyed on the original invitation date (a date is never moved):

1. a generic invite with no LTC stage code on that date gets the stage code for its position
   in the QOF year (the n-th distinct invitation date, generic or stage code, counted from
   1 April, capped at 3);
2. every LTC stage code (existing or planned by step 1) with no condition-specific invite code
   on that date gets the record code of each condition the patient was on the register for
   on that date; conditions without a ready record code are reported as blocked.

Pure: the services layer loads the journal and the catalogue and writes the result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property

from recall.domain.care import Reading, Target
from recall.domain.invitations import (
    ConditionHistory,
    PatientFacts,
    RegisterSpan,
    care,
    pca_status,
)
from recall.domain.pca import MIN_GAP_DAYS, PcaStatus
from recall.domain.qof_year import QofYear, qof_year_of

MAX_STAGE = 3
# How far before 1 April to look for invitations that belong to the previous QOF year.
LOOKBACK_DAYS = 90


class Reason(StrEnum):
    GENERIC_WITHOUT_LTC = "generic_without_ltc"
    LTC_WITHOUT_CONDITION_CODE = "ltc_without_condition_code"


class Problem(StrEnum):
    """What backfill cannot fix, only report."""

    TOO_CLOSE = "too_close"  # two invites < 7 days apart
    BEFORE_REVIEW = "before_review"  # planned invite codes dated before the latest review
    OUTSIDE_YEAR = "outside_year"  # an invite in the previous QOF year, just before 1 April
    BEFORE_REGISTRATION = "before_registration"  # invites before the patient joined


@dataclass(frozen=True)
class PatientJournal:
    """One patient's invitation-related entries (imported or recorded) and registers."""

    patient_id: int
    generic: frozenset[date] = frozenset()
    stages: Mapping[date, frozenset[int]] = field(default_factory=dict)
    specific: Mapping[str, frozenset[date]] = field(default_factory=dict)
    reviews: Mapping[str, frozenset[date]] = field(default_factory=dict)  # any care code
    registers: tuple[RegisterSpan, ...] = ()
    registered_on: date | None = None
    codable: bool = True  # False once the patient has left or died: their record is closed
    # measured conditions: the care codes' readings, judged against the year's target by the
    # invitation engine exactly as planning and `recall pca` judge them
    readings: Mapping[str, tuple[Reading, ...]] = field(default_factory=dict)
    date_of_birth: date | None = None

    def invitation_dates(self) -> list[date]:
        """Distinct dates with the generic code or an LTC stage code, oldest first."""
        return sorted(self.generic | set(self.stages))


@dataclass(frozen=True)
class BackfillRules:
    """What the catalogue and the clinical system's profile allow the planner to add."""

    stage_codes: Mapping[int, str]
    record_codes: Mapping[str, Mapping[int, str]]  # ready condition -> stage -> record code
    blocked: Mapping[str, str] = field(default_factory=dict)  # condition -> why not ready
    min_gap_days: int = MIN_GAP_DAYS
    # the catalogue's one answer to "does an invitation of this condition on this day need
    # its QOF code?" (not depression or cancer from 2025/26): backfill adds none where not
    code_needed: Callable[[str, date], bool] = field(default=lambda _c, _d: True)
    # the QOF year's reading targets (the catalogue's, per year): none = no reading judged
    targets: Callable[[QofYear], Mapping[str, Target]] = field(default=lambda _y: {})

    def record_code(self, condition: str, stage: int) -> str | None:
        codes = self.record_codes.get(condition)
        if not codes:
            return None
        return codes.get(stage) or codes.get(1)

    def why_blocked(self, condition: str) -> str:
        return self.blocked.get(condition, "not a condition in the catalogue")


@dataclass(frozen=True)
class Window:
    """The dates backfill may add codes on (inclusive)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def years(self) -> list[QofYear]:
        first, last = qof_year_of(self.start), qof_year_of(self.end)
        return [QofYear(y) for y in range(first.start_year, last.start_year + 1)]

    @cached_property
    def year_bounds(self) -> tuple[tuple[QofYear, date, date, date], ...]:
        """Per QOF year: (year, 1 April, last day looked at, start of the look-back)."""
        return tuple(
            (y, y.start, min(y.end, self.end), y.start - timedelta(days=LOOKBACK_DAYS))
            for y in self.years()
        )

    @property
    def load_from(self) -> date:
        """Earliest date the planner needs: 1 April of the first year, less the look-back."""
        return qof_year_of(self.start).start - timedelta(days=LOOKBACK_DAYS)


@dataclass(frozen=True, order=True)
class PlannedCode:
    patient_id: int
    date: date
    code: str
    condition: str | None  # None for the LTC stage code
    stage: int
    reason: Reason


@dataclass(frozen=True, order=True)
class BlockedCode:
    """A code backfill would add but may not: not ready, or under 7 days from another."""

    patient_id: int
    date: date
    condition: str | None
    stage: int
    why: str
    too_close: bool = False  # ready, but under 7 days from another invitation


@dataclass(frozen=True, order=True)
class CannotFix:
    patient_id: int
    condition: str | None
    problem: Problem
    dates: tuple[date, ...]
    detail: str


@dataclass(frozen=True)
class PatientPlan:
    patient_id: int
    items: tuple[PlannedCode, ...] = ()
    blocked: tuple[BlockedCode, ...] = ()
    cannot_fix: tuple[CannotFix, ...] = ()


def _stage_for(position: int) -> int:
    return min(position, MAX_STAGE)


def plan_patient(journal: PatientJournal, rules: BackfillRules, window: Window) -> PatientPlan:
    """Both backfill steps for one patient, plus what backfill cannot fix for them."""
    pid = journal.patient_id
    if not journal.codable:
        return PatientPlan(pid)
    items: list[PlannedCode] = []
    blocked: list[BlockedCode] = []
    joined = journal.registered_on

    # Step 1: generic without a stage code on that date -> stage code for its position.
    stage_on: dict[date, int] = {d: min(s) for d, s in journal.stages.items() if s}
    todo = sorted(
        d
        for d in journal.generic
        if d in window and d not in stage_on and (joined is None or d >= joined)
    )
    dates = journal.invitation_dates() if todo else []
    for day in todo:
        year_start = qof_year_of(day).start
        stage = _stage_for(sum(1 for d in dates if year_start <= d <= day))
        code = rules.stage_codes.get(stage)
        if code is None:
            blocked.append(
                BlockedCode(pid, day, None, stage, f"no LTC stage code for stage {stage}")
            )
            continue
        items.append(PlannedCode(pid, day, code, None, stage, Reason.GENERIC_WITHOUT_LTC))
        stage_on[day] = stage

    # Step 2: each stage code without the condition code, for registers held on that date.
    seen: set[tuple[str, date]] = {(i.code, i.date) for i in items}
    for day in sorted(stage_on):
        if day not in window or (joined is not None and day < joined):
            continue
        stage = stage_on[day]
        for condition in sorted({s.condition for s in journal.registers if s.active_on(day)}):
            if day in journal.specific.get(condition, frozenset()):
                continue
            if not rules.code_needed(condition, day):
                continue  # that QOF year needs no code for this condition: nothing to add
            code = rules.record_code(condition, stage)
            if code is None:
                blocked.append(
                    BlockedCode(pid, day, condition, stage, rules.why_blocked(condition))
                )
                continue
            if (code, day) in seen:
                continue
            near = _too_close(journal, items, condition, day, rules.min_gap_days)
            if near is not None:
                # the tool never records an invitation under 7 days from another one
                blocked.append(
                    BlockedCode(
                        pid,
                        day,
                        condition,
                        stage,
                        f"{abs((day - near).days)} days from the {condition} invitation of "
                        f"{near}: invitations must be at least {rules.min_gap_days} days apart",
                        too_close=True,
                    )
                )
                continue
            seen.add((code, day))
            items.append(
                PlannedCode(pid, day, code, condition, stage, Reason.LTC_WITHOUT_CONDITION_CODE)
            )

    close = {(b.condition, b.date) for b in blocked if b.too_close and b.condition}
    return PatientPlan(
        pid,
        tuple(items),
        tuple(blocked),
        tuple(_cannot_fix(journal, items, rules, window, close)),
    )


def _too_close(
    journal: PatientJournal,
    items: Iterable[PlannedCode],
    condition: str,
    day: date,
    min_gap_days: int,
) -> date | None:
    """Another invitation for `condition` 1-6 days from `day` (already coded or planned)."""
    dates = set(journal.specific.get(condition, frozenset()))
    dates |= {i.date for i in items if i.condition == condition}
    close = sorted(d for d in dates if 0 < abs((day - d).days) < min_gap_days)
    return close[0] if close else None


def _condition_problems(
    journal: PatientJournal,
    condition: str,
    dates: list[date],
    added: set[date] | None,
    year: tuple[date, date],
    rules: BackfillRules,
) -> list[CannotFix]:
    """What backfill cannot fix for one condition in one QOF year: invitations too close
    together, and codes it adds before the year's latest review (the review counts)."""
    pid, (first_day, last_day) = journal.patient_id, year
    out: list[CannotFix] = []
    gap = timedelta(days=rules.min_gap_days)
    if len(dates) > 1 and not any(d - dates[0] >= gap for d in dates[1:]):
        out.append(
            CannotFix(
                pid,
                condition,
                Problem.TOO_CLOSE,
                tuple(dates),
                f"{condition}: invitations less than {rules.min_gap_days} days apart "
                f"({', '.join(map(str, dates))}); send another invitation",
            )
        )
    if not added:
        return out
    # the engine's own judgement of the year's care: a review or an in-target reading is care
    # done; an out-of-target reading is not, but invitations on or before it do not count
    year_ = qof_year_of(first_day)
    facts = _facts(journal, journal.specific, (), [condition], rules.targets(year_))
    state = care(facts, condition, year_, last_day)
    if state.achieved_on is not None:
        latest = state.achieved_on
        pre = tuple(d for d in dates if d < latest and d in added)
        detail = (
            f"{condition}: care done on {latest} ({state.reason}); the invitation codes added "
            "before it do not count (the care does)"
        )
    elif state.out_of_target_on is not None:
        latest = state.out_of_target_on
        pre = tuple(d for d in dates if d <= latest and d in added)
        detail = f"{condition}: {state.reason}; the invitation codes added then do not count"
    else:
        return out
    if pre:
        out.append(CannotFix(pid, condition, Problem.BEFORE_REVIEW, pre, detail))
    return out


def _cannot_fix(
    journal: PatientJournal,
    items: Iterable[PlannedCode],
    rules: BackfillRules,
    window: Window,
    close: Collection[tuple[str, date]] = (),
) -> list[CannotFix]:
    pid = journal.patient_id
    out: list[CannotFix] = []
    items = list(items)
    planned: dict[str, set[date]] = {}
    for item in items:
        if item.condition is not None:
            planned.setdefault(item.condition, set()).add(item.date)
    after = specific_after(journal, items)
    all_invites = set(journal.invitation_dates()).union(*after.values())
    joined = journal.registered_on
    if joined is not None:
        early = sorted(d for d in all_invites if d in window and d < joined)
        if early:
            out.append(
                CannotFix(
                    pid,
                    None,
                    Problem.BEFORE_REGISTRATION,
                    tuple(early),
                    f"invited before joining the practice on {joined}: no codes added",
                )
            )
    lookback = timedelta(days=LOOKBACK_DAYS)
    for year, first_day, last_day, lookback_from in window.year_bounds:
        in_year = sorted(d for d in all_invites if first_day <= d <= last_day)
        if not in_year:
            continue
        before = sorted(d for d in all_invites if lookback_from <= d < first_day)
        if before and in_year[0] - first_day < lookback:
            out.append(
                CannotFix(
                    pid,
                    None,
                    Problem.OUTSIDE_YEAR,
                    tuple(before),
                    f"invited on {before[-1]}, before 1 April: that invitation belongs to the "
                    f"previous QOF year and does not count for {year.label}",
                )
            )
        for condition in sorted(after):
            # letters backfill will not code (too close) still show why the pair fails
            held = set(after[condition]) | {d for c, d in close if c == condition}
            dates = sorted(d for d in held if first_day <= d <= last_day)
            out.extend(
                _condition_problems(
                    journal, condition, dates, planned.get(condition), (first_day, last_day), rules
                )
            )
    return out


def specific_after(
    journal: PatientJournal, items: Iterable[PlannedCode]
) -> dict[str, frozenset[date]]:
    """Condition -> condition-specific invite dates once the planned codes are added."""
    out: dict[str, set[date]] = {c: set(d) for c, d in journal.specific.items()}
    for item in items:
        if item.condition is not None:
            out.setdefault(item.condition, set()).add(item.date)
    return {c: frozenset(d) for c, d in out.items()}


def other_after(journal: PatientJournal, items: Iterable[PlannedCode]) -> frozenset[date]:
    """Generic and stage-code dates once the planned codes are added."""
    extra = {i.date for i in items if i.condition is None}
    return journal.generic.union(journal.stages, extra)


@dataclass(frozen=True)
class StatusChange:
    patient_id: int
    condition: str
    year: QofYear
    before: PcaStatus
    after: PcaStatus

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def becomes_eligible(self) -> bool:
        return self.after == PcaStatus.PCA_ELIGIBLE and self.before != PcaStatus.PCA_ELIGIBLE

    def describe(self) -> str:
        return f"{self.condition}: {self.before} -> {self.after}"


def status_changes(
    journal: PatientJournal,
    items: Iterable[PlannedCode],
    *,
    year: QofYear,
    as_of: date,
    conditions: Iterable[str],
    codeable: Collection[str] | None = None,
    targets: Mapping[str, Target] | None = None,
) -> list[StatusChange]:
    """PCA status before and after the planned codes, for each condition given.

    The caller decides which conditions count (on the register at `as_of`, as the PCA report
    does); the rule itself is the invitation engine's `pca_status` (the same per-patient
    window, the same care judgement), so prediction and report agree. `codeable`: conditions
    with a record code; `targets`: the year's reading targets.
    """
    items = list(items)
    before_other = journal.generic.union(journal.stages)
    after_specific = specific_after(journal, items) if items else dict(journal.specific)
    after_other = other_after(journal, items) if items else before_other
    conditions = list(conditions)
    targets = targets or {}
    before_facts = _facts(journal, journal.specific, before_other, conditions, targets)
    after_facts = (
        _facts(journal, after_specific, after_other, conditions, targets) if items else before_facts
    )
    out: list[StatusChange] = []
    for condition in conditions:
        can = codeable is None or condition in codeable
        before = pca_status(before_facts, condition, year=year, as_of=as_of, codeable=can)
        after = (
            pca_status(after_facts, condition, year=year, as_of=as_of, codeable=can)
            if items
            else before
        )
        out.append(StatusChange(journal.patient_id, condition, year, before.status, after.status))
    return out


def _facts(
    journal: PatientJournal,
    specific: Mapping[str, Iterable[date]],
    other: Iterable[date],
    conditions: Iterable[str],
    targets: Mapping[str, Target] | None = None,
) -> PatientFacts:
    """The invitation engine's fact set for one journal (uncoded letters as generic dates)."""
    return PatientFacts(
        patient_id=journal.patient_id,
        registered_on=journal.registered_on,
        registers=journal.registers,
        history={
            c: ConditionHistory(
                invites=frozenset(specific.get(c, ())),
                reviews=frozenset(journal.reviews.get(c, ())),
                readings=journal.readings.get(c, ()),
            )
            for c in conditions
        },
        generic=frozenset(other),
        date_of_birth=journal.date_of_birth,
        targets=targets or {},
    )


@dataclass(frozen=True)
class BackfillPlan:
    window: Window
    items: tuple[PlannedCode, ...]
    blocked: tuple[BlockedCode, ...]
    cannot_fix: tuple[CannotFix, ...]
    patients: int  # patients looked at

    def groups(self) -> list[tuple[date, str, int]]:
        """(date, code, count) for the clinical system's bulk-add, by date then code."""
        counts: dict[tuple[date, str], int] = {}
        for item in self.items:
            key = (item.date, item.code)
            counts[key] = counts.get(key, 0) + 1
        return [(d, c, n) for (d, c), n in sorted(counts.items())]

    def count_by_reason(self) -> dict[Reason, int]:
        out = dict.fromkeys(Reason, 0)
        for item in self.items:
            out[item.reason] += 1
        return out

    def count_by_condition(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            if item.condition is not None:
                out[item.condition] = out.get(item.condition, 0) + 1
        return dict(sorted(out.items()))

    def blocked_by_condition(self) -> dict[str, tuple[int, str]]:
        """Condition (or "stage code") -> (how many codes blocked, why)."""
        out: dict[str, tuple[int, str]] = {}
        for b in self.blocked:
            key = b.condition or "stage code"
            n, _ = out.get(key, (0, b.why))
            out[key] = (n + 1, b.why)
        return dict(sorted(out.items()))


def plan(journals: Iterable[PatientJournal], rules: BackfillRules, window: Window) -> BackfillPlan:
    """Plan every patient; items sorted by date, code, patient (the worksheet order)."""
    items: list[PlannedCode] = []
    blocked: list[BlockedCode] = []
    flags: list[CannotFix] = []
    n = 0
    for journal in journals:
        n += 1
        p = plan_patient(journal, rules, window)
        items.extend(p.items)
        blocked.extend(p.blocked)
        flags.extend(p.cannot_fix)
    items.sort(key=lambda i: (i.date, i.code, i.patient_id))
    blocked.sort()
    flags.sort(key=lambda f: (f.patient_id, f.condition or "", f.problem))
    return BackfillPlan(window, tuple(items), tuple(blocked), tuple(flags), n)
