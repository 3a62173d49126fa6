"""The one invitation rule: which conditions a patient is due an invitation for, and why not.

Every caller (planning, letter production, confirm, ad-hoc invitations, the dashboard, the
patient view and the PCA status) asks `decide` or `pca_status`; no rule is written twice.

The rule, in QOF terms ("Clarifications" of the QOF rules): an invitation is true only if it
was sent on that date to a patient who was alive, registered and on that condition's register
then. Progress is per patient x condition: each condition has its own 1st, 2nd and 3rd
invitation, each at least 7 days (and, when planning, the practice's stage interval) after the
previous one, in stage order. A patient's letter invites every condition that is due, each at
its own stage, and the LTC stage code recorded for the letter is the highest of those stages.
A condition code already present on the send date is the same invitation, not a second one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from recall.domain.care import NOTHING, CareState, Reading, Target, care_state
from recall.domain.pca import MIN_GAP_DAYS, PcaResult, PcaStatus, evaluate
from recall.domain.qof_year import QofYear, qof_year_of

ORDINAL = {1: "1st", 2: "2nd", 3: "3rd"}
STAGES = (1, 2, 3)
_EMPTY: frozenset[dt.date] = frozenset()


class BatchStatus(StrEnum):
    """A batch: planned (letters may be made), sent (codes recorded) or void."""

    PLANNED = "planned"
    SENT = "sent"
    VOID = "void"


class InvitationStatus(StrEnum):
    """One patient in a batch: planned, excluded (with a reason), sent or void."""

    PLANNED = "planned"
    EXCLUDED = "excluded"
    SENT = "sent"
    VOID = "void"


class Why(StrEnum):
    """Why a patient or a condition is not due (stable names for screens and JSON)."""

    DIED = "died"
    LEFT = "left"
    NOT_REGISTERED = "not_registered"  # registers after the send date
    NOT_ON_REGISTER = "not_on_register"  # not on the register on the send date
    NOT_READY = "not_ready"  # the tool cannot code this condition yet
    DECLINED = "declined"
    REVIEWED = "reviewed"
    RESPONDED = "responded"  # staff marked booked / responded
    ALL_SENT = "all_sent"  # had all three invitations
    WAITING = "waiting"  # the stage interval has not passed
    TOO_CLOSE = "too_close"  # under 7 days after the previous invitation
    LATER_EXISTS = "later_exists"  # an invitation is dated after the send date
    OTHER_LETTER_SAME_DAY = "other_letter_same_day"
    FUTURE = "future"


# Reasons that mean "something happened since the letter was planned": the letter is taken
# out at confirm. Every other reason at confirm is a rule the send date would break.
SINCE_PLANNING = frozenset(
    {
        Why.DIED,
        Why.LEFT,
        Why.NOT_ON_REGISTER,
        Why.DECLINED,
        Why.REVIEWED,
        Why.RESPONDED,
        Why.ALL_SENT,
    }
)


@dataclass(frozen=True)
class RegisterSpan:
    """One register entry: on the register from `entered` until (not including) `resolved`."""

    condition: str
    entered: dt.date | None = None
    resolved: dt.date | None = None

    def active_on(self, day: dt.date) -> bool:
        return (self.entered is None or self.entered <= day) and (
            self.resolved is None or self.resolved > day
        )


@dataclass(frozen=True)
class ConditionHistory:
    """One condition's coded history in the QOF year."""

    invites: frozenset[dt.date] = _EMPTY  # condition-specific invite codes (never generic)
    reviews: frozenset[dt.date] = _EMPTY  # care-done codes
    readings: tuple[Reading, ...] = ()  # measured conditions: the care codes with values
    declines: frozenset[dt.date] = _EMPTY
    response: tuple[str, dt.date] | None = None  # ("booked" | "responded", on)
    # days a letter invited for the condition without its QOF code, because that QOF year
    # needs none: they move the condition's stages on but never count toward an exception
    letters: frozenset[dt.date] = _EMPTY


@dataclass(frozen=True)
class PatientFacts:
    """Everything the rule needs about one patient for one QOF year; built by the store."""

    patient_id: int
    registered_on: dt.date | None = None
    deregistered_on: dt.date | None = None
    date_of_death: dt.date | None = None
    registers: tuple[RegisterSpan, ...] = ()
    history: Mapping[str, ConditionHistory] = field(default_factory=dict)
    stage_codes: Mapping[int, frozenset[dt.date]] = field(default_factory=dict)
    generic: frozenset[dt.date] = _EMPTY
    date_of_birth: dt.date | None = None
    targets: Mapping[str, Target] = field(default_factory=dict)  # the QOF year's, measured only

    def of(self, condition: str) -> ConditionHistory:
        return self.history.get(condition) or ConditionHistory()

    def span(self, condition: str, day: dt.date) -> RegisterSpan | None:
        """The register entry for `condition` active on `day` (the latest entry if several)."""
        live = [s for s in self.registers if s.condition == condition and s.active_on(day)]
        return max(live, key=lambda s: s.entered or dt.date.min) if live else None

    def stage_code_on(self, day: dt.date) -> set[int]:
        return {n for n, days in self.stage_codes.items() if day in days}

    def coded_dates(self) -> frozenset[dt.date]:
        """Days with any condition's own invitation code (a letter that named conditions)."""
        out: set[dt.date] = set()
        for h in self.history.values():
            out |= h.invites | h.letters
        return frozenset(out)

    def uncoded_dates(self) -> frozenset[dt.date]:
        """Generic and LTC stage code dates: letters whose condition codes may be missing."""
        out = set(self.generic)
        for days in self.stage_codes.values():
            out |= days
        return frozenset(out)


def care(facts: PatientFacts, condition: str, year: QofYear, day: dt.date) -> CareState:
    """What this year's care (reviews; for measured conditions the latest reading against the
    year's target, by age at 31 March as QOF counts it) says on `day`."""
    h = facts.history.get(condition)
    if h is None:
        return NOTHING
    return care_state(
        reviews=h.reviews,
        readings=h.readings,
        target=facts.targets.get(condition),
        start=year.start,
        end=min(day, year.end),
        date_of_birth=facts.date_of_birth,
        age_day=year.end,
    )


def check_stage(stage: int) -> int:
    """The stage itself, or ValueError when it is not 1, 2 or 3."""
    if stage not in STAGES:
        raise ValueError("the stage must be 1, 2 or 3")
    return stage


def late_in_year(send_date: dt.date, interval_days: int, year: QofYear | None = None) -> bool:
    """A 1st invitation so late that the 2nd, an interval later, would fall after 31 March."""
    year = year or qof_year_of(send_date)
    return send_date + dt.timedelta(days=interval_days) > year.end


def window_start(facts: PatientFacts, span: RegisterSpan | None, year: QofYear) -> dt.date:
    """The first day an invitation can count: the later of 1 April, registration and entry."""
    days = [year.start]
    if facts.registered_on is not None:
        days.append(facts.registered_on)
    if span is not None and span.entered is not None:
        days.append(span.entered)
    return max(days)


@dataclass(frozen=True)
class Due:
    """A condition the letter invites, at the condition's own stage."""

    condition: str
    stage: int
    previous: dt.date | None = None  # the previous stage's date for this condition
    coded_already: bool = False  # its code is already on the send date: nothing to add
    warning: str | None = None  # accepted, but said at confirm
    note: str = ""  # why it is due although care was given (latest reading out of target)


@dataclass(frozen=True)
class NotDue:
    """A condition left out of the letter, with the reason in plain words."""

    condition: str
    why: Why
    reason: str
    earliest: dt.date | None = None  # when it may go, if only waiting for the interval
    next_stage: int = 0  # the stage its next invitation would be (4 = all sent; 0 = unknown)


@dataclass(frozen=True)
class Decision:
    """The rule's answer for one patient on one send date."""

    patient_id: int
    due: tuple[Due, ...] = ()
    not_due: tuple[NotDue, ...] = ()
    patient_why: Why | None = None  # the patient as a whole cannot be invited
    patient_reason: str = ""

    @property
    def stage(self) -> int:
        """The letter's stage: the highest stage among the conditions it invites (0 = none)."""
        return max((d.stage for d in self.due), default=0)

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(d.condition for d in self.due)

    @property
    def waiting_until(self) -> dt.date | None:
        days = [n.earliest for n in self.not_due if n.earliest is not None]
        return min(days) if days else None

    @property
    def reason(self) -> str:
        """Why nothing (or not everything) is due, in one line."""
        if self.patient_reason:
            return self.patient_reason
        return "; ".join(f"{n.condition}: {n.reason}" for n in self.not_due)

    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{d.condition}: {d.warning}" for d in self.due if d.warning)


def _plain(day: dt.date) -> str:
    return day.isoformat()


def _patient_block(facts: PatientFacts, send_date: dt.date) -> tuple[Why, str] | None:
    if facts.date_of_death is not None and facts.date_of_death <= send_date:
        return Why.DIED, f"died on {_plain(facts.date_of_death)}"
    if facts.deregistered_on is not None and facts.deregistered_on <= send_date:
        return Why.LEFT, f"left the practice on {_plain(facts.deregistered_on)}"
    if facts.registered_on is not None and facts.registered_on > send_date:
        return Why.NOT_REGISTERED, f"registers on {_plain(facts.registered_on)}"
    return None


def condition_dates(
    facts: PatientFacts, condition: str, span: RegisterSpan | None, year: QofYear
) -> tuple[list[dt.date], list[dt.date]]:
    """(condition-code dates, uncoded letter dates) inside the patient's window.

    Bare letters (a stage or generic code on a day with no condition code at all) count toward
    the condition's progress, so it is not sent a 1st letter twice, but never toward its
    exception. A letter that carries other conditions' codes but not this one's did not invite
    for this condition.
    """
    start = window_start(facts, span, year)

    def inside(days: Iterable[dt.date]) -> list[dt.date]:
        return sorted(d for d in days if start <= d <= year.end)

    h = facts.of(condition)
    coded = inside(h.invites | h.letters)
    named = facts.coded_dates()
    uncoded = [d for d in inside(facts.uncoded_dates()) if d not in named]
    return coded, uncoded


def _progress(
    facts: PatientFacts, condition: str, span: RegisterSpan, year: QofYear, send_date: dt.date
) -> tuple[list[dt.date], list[dt.date], int]:
    """(condition-code dates, invitation dates before the send date, the stage due next)."""
    coded, uncoded = condition_dates(facts, condition, span, year)
    before = sorted({d for d in coded + uncoded if d < send_date})
    start = window_start(facts, span, year)
    named = facts.coded_dates()
    # a stage code on a letter without any condition's code (imported from a practice that
    # started mid-process) says at least that many letters went; a coded date says exactly
    floor = max(
        (
            n
            for n, days in facts.stage_codes.items()
            if any(start <= d < send_date and d not in named for d in days)
        ),
        default=0,
    )
    return coded, before, max(len(before), floor) + 1


def _gap_check(
    condition: str, stage: int, prev: dt.date, send_date: dt.date, interval: int
) -> NotDue | str | None:
    """Too close or still waiting (NotDue), a warning at exactly 7 days (str), or fine."""
    gap = (send_date - prev).days
    if gap < MIN_GAP_DAYS:
        earliest = prev + dt.timedelta(days=max(interval, MIN_GAP_DAYS))
        return NotDue(  # what is true first: on a 1st-letter list she is past her 1st letter
            condition,
            Why.TOO_CLOSE,
            f"already had its {ORDINAL[stage - 1]} invitation (sent {_plain(prev)}, {gap} "
            f"days before); the {ORDINAL[stage]} can go from {_plain(earliest)} "
            f"(invitations must be at least {MIN_GAP_DAYS} days apart)",
            earliest,
            next_stage=stage,
        )
    if gap < interval:
        earliest = prev + dt.timedelta(days=interval)
        return NotDue(
            condition,
            Why.WAITING,
            f"{ORDINAL[stage - 1]} invitation sent {_plain(prev)}: the {ORDINAL[stage]} "
            f"can go from {_plain(earliest)}",
            earliest,
            next_stage=stage,
        )
    if gap == MIN_GAP_DAYS:
        return (
            f"exactly {MIN_GAP_DAYS} days after the invitation of {_plain(prev)}: some rule "
            "engines do not count day 7"
        )
    return None


def _decide_condition(
    facts: PatientFacts,
    condition: str,
    *,
    send_date: dt.date,
    year: QofYear,
    not_ready: str | None,
    interval: int,
) -> Due | NotDue:
    span = facts.span(condition, send_date)
    if span is None:
        return NotDue(condition, Why.NOT_ON_REGISTER, "not on the register on the send date")
    if not_ready is not None:
        return NotDue(condition, Why.NOT_READY, not_ready)
    coded, before, stage = _progress(facts, condition, span, year, send_date)

    def no(why: Why, reason: str) -> NotDue:
        return NotDue(condition, why, reason, next_stage=min(stage, 4))

    h = facts.of(condition)
    done = care(facts, condition, year, send_date)
    if done.achieved:
        return no(Why.REVIEWED, done.reason)
    declines = sorted(d for d in h.declines if year.start <= d <= send_date)
    if declines:
        return no(Why.DECLINED, f"declined or unsuitable (coded {_plain(declines[-1])})")
    if h.response is not None and h.response[1] <= send_date:
        kind, on = h.response
        return no(Why.RESPONDED, f"{kind} on {_plain(on)}")
    later = [d for d in coded if d > send_date]
    if later:
        return no(
            Why.LATER_EXISTS,
            f"already has an invitation dated {_plain(min(later))}, after the send date "
            "(invitations go in stage order)",
        )
    prev = before[-1] if before else None
    if stage > 3:
        when = f" (latest {_plain(prev)})" if prev else ""
        after = f"; {done.reason}" if done.out_of_target_on else ""
        return no(Why.ALL_SENT, f"had all three invitations this year{when}{after}")
    gap = _gap_check(condition, stage, prev, send_date, interval) if prev else None
    if isinstance(gap, NotDue):
        return gap
    return Due(
        condition,
        stage,
        previous=prev,
        coded_already=send_date in set(coded),
        warning=gap,
        note=done.reason if done.out_of_target_on else "",
    )


def decide(
    facts: PatientFacts,
    *,
    send_date: dt.date,
    year: QofYear,
    conditions: Iterable[str],
    not_ready: Mapping[str, str] | None = None,
    interval: int = MIN_GAP_DAYS,
) -> Decision:
    """Which of `conditions` the patient is due an invitation for on `send_date`, and why not.

    `conditions` are the catalogue's condition keys; only those the patient is (or was) on the
    register for are answered. `not_ready` maps a condition the tool cannot code to the reason.
    `interval` is the days a stage must wait after the previous one (at least 7): planning
    passes the practice's interval; confirming an ad-hoc invitation may pass 7.
    """
    interval = max(interval, MIN_GAP_DAYS)
    not_ready = not_ready or {}
    on_any = sorted({s.condition for s in facts.registers} & set(conditions))
    if not on_any:
        return Decision(facts.patient_id)
    if send_date not in year:
        return Decision(
            facts.patient_id,
            patient_why=Why.FUTURE,
            patient_reason=f"the send date {_plain(send_date)} is outside QOF year {year.label}",
        )
    block = _patient_block(facts, send_date)
    if block is not None:
        return Decision(facts.patient_id, patient_why=block[0], patient_reason=block[1])
    due: list[Due] = []
    not_due: list[NotDue] = []
    for cond in on_any:
        if facts.span(cond, send_date) is None and not any(
            s.condition == cond and (s.entered is None or s.entered <= send_date)
            for s in facts.registers
        ):
            continue  # joins the register later: not a candidate yet
        answer = _decide_condition(
            facts,
            cond,
            send_date=send_date,
            year=year,
            not_ready=not_ready.get(cond),
            interval=interval,
        )
        (due if isinstance(answer, Due) else not_due).append(answer)  # type: ignore[arg-type]
    decision = Decision(facts.patient_id, tuple(due), tuple(not_due))
    # one letter a day: a stage code already on the send date must be this letter's stage
    other = facts.stage_code_on(send_date) - {decision.stage}
    if decision.due and other:
        n = max(other)
        return Decision(
            facts.patient_id,
            not_due=tuple(not_due)
            + tuple(
                NotDue(
                    d.condition,
                    Why.OTHER_LETTER_SAME_DAY,
                    f"the {ORDINAL[n]} letter was already sent on {_plain(send_date)}",
                )
                for d in due
            ),
        )
    return decision


def pca_status(
    facts: PatientFacts,
    condition: str,
    *,
    year: QofYear,
    as_of: dt.date,
    codeable: bool = True,
) -> PcaResult:
    """PCA status of one condition, counting only true invitations (the per-patient window).

    `codeable`: the condition has a record code, so backfill could add its code to a letter
    sent without it; only then is such a letter `generic_only`.
    """
    span = facts.span(condition, as_of)
    start = window_start(facts, span, year)
    h = facts.of(condition)
    end = min(as_of, year.end)
    done = care(facts, condition, year, as_of)
    if done.achieved:
        return PcaResult(PcaStatus.ACHIEVED, review_date=done.achieved_on, care=done.reason)
    # an out-of-target reading: only invitations after it count toward the exception
    floor = done.out_of_target_on
    if floor is not None and floor >= start:
        start = floor + dt.timedelta(days=1)
    invites = [d for d in h.invites if start <= d <= end]
    others = (
        [d for d in facts.uncoded_dates() if start <= d <= end and d not in h.invites]
        if codeable
        else []
    )
    result = evaluate(
        year=year,
        as_of=as_of,
        invite_dates=invites,
        other_invite_dates=others,
    )
    if floor is None:
        return result
    before = tuple(sorted(d for d in h.invites if year.start <= d <= floor))
    return replace(result, care=done.reason, out_of_target_on=floor, not_counted=before)


def next_stage_from(result: PcaResult, interval: int) -> dt.date | None:
    """When the next invitation may go after the latest one (the practice's interval)."""
    if not result.invitations:
        return None
    return max(result.invitations) + dt.timedelta(days=max(interval, MIN_GAP_DAYS))


__all__ = [
    "ORDINAL",
    "SINCE_PLANNING",
    "STAGES",
    "BatchStatus",
    "ConditionHistory",
    "Decision",
    "Due",
    "InvitationStatus",
    "NotDue",
    "PatientFacts",
    "PcaStatus",
    "RegisterSpan",
    "Why",
    "care",
    "check_stage",
    "condition_dates",
    "decide",
    "late_in_year",
    "next_stage_from",
    "pca_status",
    "window_start",
]
