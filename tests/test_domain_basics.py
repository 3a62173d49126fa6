"""QOF-year arithmetic, NHS numbers, code systems, postcodes, the PCA rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recall.domain.codes import CodeSystem, detect_code_system, verhoeff_valid
from recall.domain.nhs import InvalidNhsNumber, format_nhs_number, normalise_nhs_number
from recall.domain.pca import PcaStatus, evaluate
from recall.domain.postcode import is_valid_postcode, normalise_postcode
from recall.domain.qof_year import QofYear, qof_year_of


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (date(2026, 3, 31), 2025),
        (date(2026, 4, 1), 2026),
        (date(2027, 2, 28), 2026),
        (date(2028, 2, 29), 2027),
        (date(2026, 12, 31), 2026),
    ],
)
def test_qof_year_boundaries(day: date, start: int) -> None:
    year = qof_year_of(day)
    assert year.start_year == start
    assert day in year
    assert year.start == date(start, 4, 1) and year.end == date(start + 1, 3, 31)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_is_in_exactly_one_qof_year(day: date) -> None:
    year = qof_year_of(day)
    assert day in year
    assert day not in year.next() and day not in year.previous()


def test_qof_year_label() -> None:
    assert QofYear(2026).label == "2026/27"
    assert QofYear(1999).label == "1999/00"


def test_nhs_number_accepts_spaces_and_rejects_bad_check_digit() -> None:
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert format_nhs_number("9434765919") == "943 476 5919"
    with pytest.raises(InvalidNhsNumber) as info:
        normalise_nhs_number("9434765918")
    assert "9434765918" not in str(info.value)
    with pytest.raises(InvalidNhsNumber):
        normalise_nhs_number("94347659")


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("1109921000000106", CodeSystem.SNOMED),
        ("185719002", CodeSystem.SNOMED),
        ("Y1f8f", CodeSystem.CTV3),
        ("XabEf", CodeSystem.CTV3),
        ("9N4..", CodeSystem.CTV3),
        ("EMISNQ123", CodeSystem.LOCAL),
        ("12345", CodeSystem.CTV3),
    ],
)
def test_code_system_detection(code: str, system: CodeSystem) -> None:
    assert detect_code_system(code) is system


def test_verhoeff() -> None:
    assert verhoeff_valid("1109921000000106")
    assert not verhoeff_valid("1109921000000107")


def test_postcodes() -> None:
    assert normalise_postcode(" ls1  4ap ") == "LS1 4AP"
    assert is_valid_postcode("LS1 4AP") and is_valid_postcode("sw1a1aa")
    assert not is_valid_postcode("NOT A POSTCODE")


Y = QofYear(2026)


def _ev(invites: list[date], reviews: list[date] = (), other: list[date] = ()) -> PcaStatus:  # type: ignore[assignment]
    return evaluate(
        year=Y, as_of=Y.end, invite_dates=invites, review_dates=reviews, other_invite_dates=other
    ).status


def test_pca_rule_boundaries() -> None:
    first = date(2026, 5, 3)
    assert _ev([first, first + timedelta(days=6)]) is PcaStatus.INVALID_INTERVAL
    assert _ev([first, first + timedelta(days=7)]) is PcaStatus.PCA_ELIGIBLE
    assert _ev([first]) is PcaStatus.INVITED_ONCE
    assert _ev([], other=[first, first + timedelta(days=20)]) is PcaStatus.GENERIC_ONLY
    assert _ev([]) is PcaStatus.NOT_INVITED
    assert (
        _ev([first, first + timedelta(days=30)], reviews=[date(2026, 9, 1)]) is PcaStatus.ACHIEVED
    )
    # invites in the previous QOF year do not count
    assert _ev([date(2026, 3, 31), date(2026, 4, 10)]) is PcaStatus.INVITED_ONCE


@given(st.lists(st.dates(min_value=Y.start, max_value=Y.end), max_size=6))
def test_pca_eligible_iff_two_dates_seven_apart(days: list[date]) -> None:
    status = _ev(days)
    distinct = sorted(set(days))
    if not distinct:
        assert status is PcaStatus.NOT_INVITED
    elif (distinct[-1] - distinct[0]).days >= 7:
        assert status is PcaStatus.PCA_ELIGIBLE
    elif len(distinct) == 1:
        assert status is PcaStatus.INVITED_ONCE
    else:
        assert status is PcaStatus.INVALID_INTERVAL
