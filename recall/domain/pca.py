"""The personalised-care-adjustment rule for non-responders, as the whole tool reads it.

See the "PCA status" section of the QOF rules: care achieved wins; two condition-specific
invitation dates at least 7 days apart in the QOF year make a patient eligible for exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from recall.domain.qof_year import QofYear

MIN_GAP_DAYS = 7


class PcaStatus(StrEnum):
    ACHIEVED = "achieved"
    PCA_ELIGIBLE = "pca_eligible"
    INVALID_INTERVAL = "invalid_interval"
    INVITED_ONCE = "invited_once"
    GENERIC_ONLY = "generic_only"
    NOT_INVITED = "not_invited"


STATUS_ORDER: tuple[PcaStatus, ...] = tuple(PcaStatus)

PLAIN_STATUS = {
    PcaStatus.ACHIEVED: "reviewed this year",
    PcaStatus.PCA_ELIGIBLE: "can be excepted (invited twice, 7+ days apart)",
    PcaStatus.INVALID_INTERVAL: "invited twice but less than 7 days apart",
    PcaStatus.INVITED_ONCE: "invited once",
    PcaStatus.GENERIC_ONLY: "invited without its own code (backfill can add it)",
    PcaStatus.NOT_INVITED: "not invited yet",
}

# the same, short enough for a table column (17 characters at most)
SHORT_STATUS = {
    PcaStatus.ACHIEVED: "reviewed",
    PcaStatus.PCA_ELIGIBLE: "can be excepted",
    PcaStatus.INVALID_INTERVAL: "invites too close",
    PcaStatus.INVITED_ONCE: "invited once",
    PcaStatus.GENERIC_ONLY: "generic code only",
    PcaStatus.NOT_INVITED: "not invited",
}


@dataclass(frozen=True)
class PcaResult:
    status: PcaStatus
    invitations: tuple[date, ...] = ()
    review_date: date | None = None
    earliest_second: date | None = None  # when a 2nd invite may go (invited_once / invalid)
    care: str = ""  # what the year's care says, in plain words (reading in/out of target)
    out_of_target_on: date | None = None  # latest reading out of target: earlier invites void
    not_counted: tuple[date, ...] = ()  # invitations on/before that reading

    @property
    def first(self) -> date | None:
        return self.invitations[0] if self.invitations else None


def evaluate(
    *,
    year: QofYear,
    as_of: date,
    invite_dates: Iterable[date],
    review_dates: Iterable[date] = (),
    other_invite_dates: Iterable[date] = (),
    min_gap_days: int = MIN_GAP_DAYS,
) -> PcaResult:
    """Status of one patient for one condition in `year`, looking from 1 April to `as_of`.

    `invite_dates` are dates of condition-specific invite codes; `other_invite_dates` are dates
    of the generic QOF invite code or LTC stage codes (they only make `generic_only`).
    """
    end = min(as_of, year.end)

    def window(days: Iterable[date]) -> list[date]:
        return sorted({d for d in days if year.start <= d <= end})

    reviews = window(review_dates)
    if reviews:
        return PcaResult(PcaStatus.ACHIEVED, review_date=reviews[-1])
    invites = window(invite_dates)
    if invites:
        first = invites[0]
        gap = timedelta(days=min_gap_days)
        if any(d - first >= gap for d in invites[1:]):
            return PcaResult(PcaStatus.PCA_ELIGIBLE, tuple(invites))
        status = PcaStatus.INVALID_INTERVAL if len(invites) > 1 else PcaStatus.INVITED_ONCE
        return PcaResult(status, tuple(invites), earliest_second=first + gap)
    if window(other_invite_dates):
        return PcaResult(PcaStatus.GENERIC_ONLY)
    return PcaResult(PcaStatus.NOT_INVITED)


def can_still_become_eligible(result: PcaResult, year: QofYear) -> bool:
    """An invited-once patient whose 2nd invite can still fall by 31 March."""
    return (
        result.status in (PcaStatus.INVITED_ONCE, PcaStatus.INVALID_INTERVAL)
        and result.earliest_second is not None
        and result.earliest_second <= year.end
    )
