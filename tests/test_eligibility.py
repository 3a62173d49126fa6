"""Pure rules: recall month, stage due logic, the 7-day check, late-in-year, PCA precedence."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recall.domain.invitations import (
    ConditionHistory,
    PatientFacts,
    RegisterSpan,
    Why,
    decide,
    late_in_year,
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


def _facts(*invites: date, stage2: date | None = None) -> PatientFacts:
    return PatientFacts(
        patient_id=1,
        registers=(RegisterSpan("HYP"),),
        history={"HYP": ConditionHistory(invites=frozenset(invites))},
        stage_codes={2: frozenset({stage2})} if stage2 else {},
    )


@pytest.mark.parametrize(
    ("offset", "outcome"),
    [
        (0, "coded_already"),  # the same day: the same invitation
        (6, Why.TOO_CLOSE),
        (7, "warn"),
        (8, Why.WAITING),  # under the 14-day interval when planning
        (14, "due"),
        (-6, Why.LATER_EXISTS),
        (-7, Why.LATER_EXISTS),
    ],
)
def test_gap_boundaries(offset: int, outcome: object) -> None:
    first = date(2026, 11, 1)
    send = first + timedelta(days=offset)
    interval = 7 if outcome == "warn" else 14
    d = decide(_facts(first), send_date=send, year=Y, conditions=["HYP"], interval=interval)
    if isinstance(outcome, Why):
        assert [n.why for n in d.not_due] == [outcome]
    elif outcome == "coded_already":
        assert d.due[0].coded_already and d.due[0].stage == 1
    else:
        assert d.due[0].stage == 2
        assert (d.due[0].warning is not None) == (outcome == "warn")


def test_last_years_invites_do_not_count() -> None:
    d = decide(_facts(date(2026, 3, 30)), send_date=date(2026, 4, 2), year=Y, conditions=["HYP"])
    assert [(u.stage, u.warning) for u in d.due] == [(1, None)]


def test_stage_decisions() -> None:
    send = date(2026, 11, 15)
    none = decide(_facts(), send_date=send, year=Y, conditions=["HYP"], interval=14)
    assert none.stage == 1
    one = decide(_facts(date(2026, 11, 1)), send_date=send, year=Y, conditions=["HYP"], interval=14)
    assert one.stage == 2
    early = decide(
        _facts(date(2026, 11, 1)),
        send_date=send - timedelta(days=1),
        year=Y,
        conditions=["HYP"],
        interval=14,
    )
    assert early.stage == 0 and early.waiting_until == date(2026, 11, 15)
    # a bare stage-2 letter (no condition code) counts as stage 2 even with one known date
    bare = decide(_facts(stage2=date(2026, 10, 1)), send_date=send, year=Y, conditions=["HYP"])
    assert bare.stage == 3


def test_late_in_year() -> None:
    assert not late_in_year(date(2027, 3, 17), 14)
    assert late_in_year(date(2027, 3, 18), 14)


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
