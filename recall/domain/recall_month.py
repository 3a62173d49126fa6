"""Which month a patient is recalled in: one combined review for all their conditions.

Most practices use the birth month; some the anniversary of the last review. A month set on
the patient always wins, so staff can move someone whose birth month suits nobody.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class RecallRule(StrEnum):
    BIRTH_MONTH = "birth_month"
    REVIEW_ANNIVERSARY = "review_anniversary"


def recall_month(
    *,
    date_of_birth: date,
    rule: str = RecallRule.BIRTH_MONTH,
    override: int | None = None,
    last_review: date | None = None,
) -> int:
    """The patient's recall month (1-12).

    Order: the per-patient override; then, under the review-anniversary rule, the month of
    the latest review (patients never reviewed fall back to their birth month); else the
    birth month.
    """
    if override is not None and 1 <= override <= 12:
        return override
    if rule == RecallRule.REVIEW_ANNIVERSARY and last_review is not None:
        return last_review.month
    return date_of_birth.month


def age_on(date_of_birth: date, day: date) -> int:
    """Age in whole years on `day` (a 29 February birthday turns over on 1 March)."""
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years
