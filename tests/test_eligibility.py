"""Pure rules: recall month, stage due logic, the 7-day check, late-in-year, PCA precedence."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recall.domain.eligibility import (
    InvalidInterval,
    Level,
    check_gap,
    check_stage_interval,
    last_first_invite_date,
    late_in_year,
    progress,
    stage_decision,
)
from recall.domain.pca import PcaStatus, evaluate
from recall.domain.qof_year import QofYear
from recall.domain.recall_month import age_on, recall_month

Y = QofYear(2026)
days_in_year = st.dates(min_value=Y.start, max_value=Y.end)


def test_recall_month_rules() -> None:
    dob = date(1950, 11, 3)
    assert recall_month(date_of_birth=dob) == 11
    assert recall_month(date_of_birth=dob, override=4) == 4
    assert recall_month(date_of_birth=dob, rule="review_anniversary") == 11
    assert (
        recall_month(date_of_birth=dob, rule="review_anniversary", last_review=date(2025, 6, 9))
        == 6
    )
    assert (
        recall_month(
            date_of_birth=dob, rule="review_anniversary", override=2, last_review=date(2025, 6, 9)
        )
        == 2
    )
    assert recall_month(date_of_birth=date(1952, 2, 29)) == 2


def test_age_with_29_february_birthday() -> None:
    assert age_on(date(1952, 2, 29), date(2027, 2, 28)) == 74
    assert age_on(date(1952, 2, 29), date(2027, 3, 1)) == 75
    assert age_on(date(1952, 2, 29), date(2028, 2, 29)) == 76


def test_stage_interval_minimum() -> None:
    assert check_stage_interval(7) == 7
    with pytest.raises(InvalidInterval):
        check_stage_interval(6)


@pytest.mark.parametrize(
    ("offset", "level"),
    [
        (0, Level.REFUSE),
        (6, Level.REFUSE),
        (7, Level.WARN),
        (8, Level.WARN),
        (14, Level.OK),
        (-6, Level.REFUSE),
        (-7, Level.OK),
    ],
)
def test_gap_boundaries(offset: int, level: Level) -> None:
    first = date(2026, 11, 1)
    check = check_gap([first], first + timedelta(days=offset), stage=2, interval_days=14)
    assert check.level is level


def test_gap_at_stage_interval_seven_has_only_the_day_seven_warning() -> None:
    first = date(2026, 11, 1)
    assert check_gap([first], first + timedelta(days=8), stage=2, interval_days=7).level is Level.OK
    assert (
        "exactly 7"
        in check_gap([first], first + timedelta(days=7), stage=2, interval_days=7).message
    )


def test_gap_ignores_last_years_invites() -> None:
    assert check_gap([date(2026, 3, 30)], date(2026, 4, 2), stage=1, interval_days=14).level is (
        Level.OK
    )


@given(st.lists(days_in_year, max_size=6), days_in_year, st.integers(7, 60))
def test_gap_refuses_exactly_when_an_invite_is_under_7_days_away(
    existing: list[date], sent: date, interval: int
) -> None:
    check = check_gap(existing, sent, stage=2, interval_days=interval)
    close = any(abs((sent - d).days) < 7 for d in existing)
    assert (check.level is Level.REFUSE) == close


def test_stage_decisions() -> None:
    send = date(2026, 11, 15)
    none = progress([])
    assert stage_decision(1, none, send, 14).due
    assert not stage_decision(2, none, send, 14).due
    one = progress([date(2026, 11, 1)])
    assert not stage_decision(1, one, send, 14).due
    assert stage_decision(2, one, send, 14).due
    early = stage_decision(2, one, send - timedelta(days=1), 14)
    assert not early.due and early.earliest == date(2026, 11, 15)
    # an explicit stage-2 code counts as stage 2 even with one known date
    assert progress([], {2: [date(2026, 10, 1)]}).reached == 2
    assert stage_decision(3, progress([], {2: [date(2026, 10, 1)]}), send, 14).due


@given(st.sets(days_in_year, max_size=5), st.integers(1, 3))
def test_a_stage_is_due_only_right_after_the_previous(dates: set[date], stage: int) -> None:
    prog = progress(dates)
    decision = stage_decision(stage, prog, Y.end, 14)
    if decision.due:
        assert prog.reached == stage - 1


def test_late_in_year() -> None:
    assert not late_in_year(date(2027, 3, 17), 14)
    assert late_in_year(date(2027, 3, 18), 14)
    assert last_first_invite_date(Y, 14) == date(2027, 3, 17)


@given(st.lists(days_in_year, min_size=1, max_size=6), st.lists(days_in_year, max_size=3))
def test_generic_only_is_never_pca_eligible(generic: list[date], reviews: list[date]) -> None:
    res = evaluate(
        year=Y, as_of=Y.end, invite_dates=[], other_invite_dates=generic, review_dates=reviews
    )
    assert res.status in (PcaStatus.GENERIC_ONLY, PcaStatus.ACHIEVED)


@given(st.lists(days_in_year, max_size=6), days_in_year)
def test_care_achieved_beats_any_invites(invites: list[date], review: date) -> None:
    res = evaluate(year=Y, as_of=Y.end, invite_dates=invites, review_dates=[review])
    assert res.status is PcaStatus.ACHIEVED
