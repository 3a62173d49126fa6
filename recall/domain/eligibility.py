"""Who is due which invitation stage, and the 7-day rule checked when a batch is confirmed.

The PCA exception needs two condition-specific invitations at least 7 days apart in the QOF
year. Published rule engines disagree on whether exactly day +7 counts, so the tool refuses
anything under 7 days, warns at exactly 7, and plans stages a configurable interval apart
(default 14 days, never below 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from recall.domain.pca import MIN_GAP_DAYS
from recall.domain.qof_year import QofYear, qof_year_of

DEFAULT_STAGE_INTERVAL = 14
STAGES = (1, 2, 3)
ORDINAL = {1: "1st", 2: "2nd", 3: "3rd"}


class InvalidInterval(ValueError):
    """A stage interval below the 7-day minimum."""


def check_stage_interval(days: int) -> int:
    """The interval itself, or InvalidInterval when it is below 7 days."""
    if days < MIN_GAP_DAYS:
        raise InvalidInterval(f"the stage interval must be at least {MIN_GAP_DAYS} days")
    return days


def check_stage(stage: int) -> int:
    if stage not in STAGES:
        raise ValueError("the stage must be 1, 2 or 3")
    return stage


@dataclass(frozen=True)
class Progress:
    """How far a patient got with one condition's invitations this year."""

    reached: int  # 0 = no invitation yet; capped at 3
    last: date | None  # date of the latest invitation


def progress(
    invite_dates: Iterable[date], stage_code_dates: Mapping[int, Iterable[date]] | None = None
) -> Progress:
    """Stage reached from distinct invitation dates and any explicit stage codes.

    `invite_dates` are all dates the patient was invited for the condition this year (condition
    code, LTC stage code or generic code); a stage code of stage N means at least stage N even
    when fewer dates are known (a practice that started coding mid-process).
    """
    dates = set(invite_dates)
    explicit = 0
    for stage, days in (stage_code_dates or {}).items():
        days = set(days)
        if days:
            explicit = max(explicit, stage)
            dates |= days
    reached = min(max(len(dates), explicit), 3)
    return Progress(reached, max(dates) if dates else None)


@dataclass(frozen=True)
class StageDecision:
    due: bool
    reason: str = ""
    earliest: date | None = None  # when the stage may go, if waiting for the interval


def stage_decision(
    stage: int, prog: Progress, send_date: date, interval_days: int
) -> StageDecision:
    """Is this stage due on `send_date`, given the progress so far? If not, why not (plainly)."""
    check_stage(stage)
    if prog.reached >= stage:
        when = f" (latest invitation {prog.last.isoformat()})" if prog.last else ""
        return StageDecision(False, f"already had the {ORDINAL[stage]} invitation this year{when}")
    if prog.reached < stage - 1:
        return StageDecision(False, f"has not had the {ORDINAL[stage - 1]} invitation this year")
    if stage == 1 or prog.last is None:
        return StageDecision(True)
    earliest = prog.last + timedelta(days=interval_days)
    if send_date < earliest:
        return StageDecision(
            False,
            f"{ORDINAL[stage - 1]} invitation sent {prog.last.isoformat()}: the "
            f"{ORDINAL[stage]} can go from {earliest.isoformat()}",
            earliest,
        )
    return StageDecision(True)


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    REFUSE = "refuse"


@dataclass(frozen=True)
class GapCheck:
    level: Level
    message: str = ""
    other: date | None = None


def check_gap(
    existing: Iterable[date], sent_on: date, *, stage: int, interval_days: int
) -> GapCheck:
    """The 7-day rule for one condition: `existing` are its invite dates already in the year.

    Any invite closer than 7 days (before or after, including the same day) refuses; exactly 7
    days after the previous one warns; at least 7 but under the stage interval warns.
    """
    year = qof_year_of(sent_on)
    days = sorted({d for d in existing if d in year})
    for d in days:
        gap = abs((sent_on - d).days)
        if gap < MIN_GAP_DAYS:
            when = (
                "the same day" if gap == 0 else f"{gap} days {'before' if d < sent_on else 'after'}"
            )
            return GapCheck(
                Level.REFUSE,
                f"already has an invitation dated {d.isoformat()}, {when} "
                f"(invitations must be at least {MIN_GAP_DAYS} days apart)",
                d,
            )
    before = [d for d in days if d < sent_on]
    if not before:
        return GapCheck(Level.OK)
    prev = before[-1]
    gap = (sent_on - prev).days
    if gap == MIN_GAP_DAYS:
        return GapCheck(
            Level.WARN,
            f"exactly {MIN_GAP_DAYS} days after the invitation of {prev.isoformat()}: some "
            "rule engines do not count day 7",
            prev,
        )
    if stage > 1 and gap < interval_days:
        return GapCheck(
            Level.WARN,
            f"{gap} days after the invitation of {prev.isoformat()}, less than the "
            f"{interval_days}-day stage interval",
            prev,
        )
    return GapCheck(Level.OK, other=prev)


def late_in_year(send_date: date, interval_days: int, year: QofYear | None = None) -> bool:
    """A 1st invitation so late that the 2nd, an interval later, would fall after 31 March."""
    year = year or qof_year_of(send_date)
    return send_date + timedelta(days=interval_days) > year.end


def last_first_invite_date(year: QofYear, interval_days: int) -> date:
    """The latest day a 1st invitation can go and leave room for the 2nd by 31 March."""
    return year.end - timedelta(days=interval_days)
