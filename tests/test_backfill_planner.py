"""The pure backfill planner: worked examples from the issue, then properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recall.domain.backfill import (
    BackfillRules,
    PatientJournal,
    PlannedCode,
    Problem,
    Reason,
    Window,
    plan,
    plan_patient,
    status_changes,
)
from recall.domain.invitations import RegisterSpan
from recall.domain.pca import PcaStatus
from recall.domain.qof_year import QofYear

STAGES = {1: "XabEf", 2: "XabEh", 3: "XabEj"}
HYP, DM, AF = "1110941000000107", "1110921000000100", "1110851000000100"
RULES = BackfillRules(
    stage_codes=STAGES,
    record_codes={"HYP": {1: HYP}, "DM": {1: DM}},
    blocked={"AF": "code not verified against the official AFIBINVITE_COD file"},
)
YEAR = QofYear(2026)
WINDOW = Window(YEAR.start, YEAR.end)
D = date(2026, 5, 3)


def journal(**kw: object) -> PatientJournal:
    base = PatientJournal(patient_id=1, registers=(RegisterSpan("HYP"), RegisterSpan("DM")))
    return replace(base, **kw)  # type: ignore[arg-type]


def test_generic_alone_gets_stage_code_and_condition_codes_on_its_date() -> None:
    p = plan_patient(journal(generic=frozenset({D})), RULES, WINDOW)
    assert {(i.code, i.date, i.condition, i.reason) for i in p.items} == {
        ("XabEf", D, None, Reason.GENERIC_WITHOUT_LTC),
        (HYP, D, "HYP", Reason.LTC_WITHOUT_CONDITION_CODE),
        (DM, D, "DM", Reason.LTC_WITHOUT_CONDITION_CODE),
    }
    assert not p.blocked


def test_stage_code_and_condition_codes_already_there_plans_nothing() -> None:
    j = journal(
        stages={D: frozenset({1})},
        specific={"HYP": frozenset({D}), "DM": frozenset({D})},
    )
    p = plan_patient(j, RULES, WINDOW)
    assert p.items == () and p.blocked == ()


def test_register_starting_after_the_invite_gets_no_code() -> None:
    j = journal(
        generic=frozenset({D}),
        registers=(RegisterSpan("HYP"), RegisterSpan("DM", entered=D + timedelta(days=1))),
    )
    codes = {i.code for i in plan_patient(j, RULES, WINDOW).items}
    assert codes == {"XabEf", HYP}


def test_register_resolved_before_the_invite_gets_no_code() -> None:
    j = journal(generic=frozenset({D}), registers=(RegisterSpan("HYP", resolved=D),))
    codes = {i.code for i in plan_patient(j, RULES, WINDOW).items}
    assert codes == {"XabEf"}


def test_stage_code_without_condition_code_gets_it_with_the_stage_record_code() -> None:
    rules = replace(RULES, record_codes={"HYP": {1: HYP, 2: "hyp-stage-2"}, "DM": {1: DM}})
    j = journal(stages={D: frozenset({2})}, specific={"DM": frozenset({D})})
    p = plan_patient(j, rules, WINDOW)
    assert [(i.code, i.stage, i.reason) for i in p.items] == [
        ("hyp-stage-2", 2, Reason.LTC_WITHOUT_CONDITION_CODE)
    ]


def test_position_counts_from_1_april_even_when_the_window_starts_later() -> None:
    first, second, third, fourth = (date(2026, m, 10) for m in (4, 6, 8, 10))
    j = journal(
        generic=frozenset({first, third, fourth}),
        stages={second: frozenset({2})},
        specific={"HYP": frozenset({first, second, third, fourth})},
        registers=(RegisterSpan("HYP"),),
    )
    p = plan_patient(j, RULES, Window(date(2026, 7, 1), YEAR.end))
    assert [(i.date, i.code) for i in p.items] == [(third, "XabEj"), (fourth, "XabEj")]


def test_stage_code_on_the_same_date_means_no_step_one() -> None:
    j = journal(generic=frozenset({D}), stages={D: frozenset({3})}, registers=())
    assert plan_patient(j, RULES, WINDOW).items == ()


def test_nothing_outside_the_window_but_numbering_sees_it() -> None:
    may, june = date(2026, 5, 1), date(2026, 6, 1)
    j = journal(generic=frozenset({may, june}), registers=())
    p = plan_patient(j, RULES, Window(date(2026, 5, 15), YEAR.end))
    assert [(i.date, i.code) for i in p.items] == [(june, "XabEh")]


def test_previous_year_dates_do_not_count_towards_position() -> None:
    march, april = date(2026, 3, 20), date(2026, 4, 2)
    j = journal(generic=frozenset({march, april}), registers=())
    p = plan_patient(j, RULES, Window(date(2025, 4, 1), YEAR.end))
    assert [(i.date, i.code) for i in p.items] == [(march, "XabEf"), (april, "XabEf")]


def test_condition_without_ready_code_is_blocked_with_why() -> None:
    j = journal(generic=frozenset({D}), registers=(RegisterSpan("AF"), RegisterSpan("CHD")))
    p = plan_patient(j, RULES, WINDOW)
    assert [i.code for i in p.items] == ["XabEf"]
    assert {(b.condition, b.why) for b in p.blocked} == {
        ("AF", "code not verified against the official AFIBINVITE_COD file"),
        ("CHD", "not a condition in the catalogue"),
    }


def test_missing_stage_code_in_profile_blocks_step_one() -> None:
    rules = replace(RULES, stage_codes={1: "XabEf"})
    j = journal(generic=frozenset({D, D + timedelta(days=20)}))
    p = plan_patient(j, rules, WINDOW)
    assert {i.date for i in p.items} == {D}
    assert [(b.condition, b.stage) for b in p.blocked] == [(None, 2)]


def test_invites_before_joining_the_practice_are_left_and_flagged() -> None:
    j = journal(generic=frozenset({D}), registered_on=D + timedelta(days=1))
    p = plan_patient(j, RULES, WINDOW)
    assert p.items == ()
    assert [f.problem for f in p.cannot_fix] == [Problem.BEFORE_REGISTRATION]


def test_flags_invites_too_close_together() -> None:
    j = journal(generic=frozenset({D, D + timedelta(days=6)}), registers=(RegisterSpan("HYP"),))
    p = plan_patient(j, RULES, WINDOW)
    assert [(f.condition, f.problem) for f in p.cannot_fix] == [("HYP", Problem.TOO_CLOSE)]
    # exactly 7 days apart is fine
    j7 = replace(j, generic=frozenset({D, D + timedelta(days=7)}))
    assert plan_patient(j7, RULES, WINDOW).cannot_fix == ()


def test_flags_invites_before_the_latest_review() -> None:
    j = journal(
        generic=frozenset({D}),
        reviews={"HYP": frozenset({D + timedelta(days=30)})},
        registers=(RegisterSpan("HYP"),),
    )
    p = plan_patient(j, RULES, WINDOW)
    assert [(f.condition, f.problem, f.dates) for f in p.cannot_fix] == [
        ("HYP", Problem.BEFORE_REVIEW, (D,))
    ]


def test_flags_an_invite_just_before_1_april() -> None:
    j = journal(generic=frozenset({date(2026, 3, 25), date(2026, 4, 8)}), registers=())
    p = plan_patient(j, RULES, WINDOW)
    assert [(f.problem, f.dates) for f in p.cannot_fix] == [
        (Problem.OUTSIDE_YEAR, (date(2026, 3, 25),))
    ]
    assert [(i.date, i.code) for i in p.items] == [(date(2026, 4, 8), "XabEf")]


def test_status_changes_from_invited_once_to_eligible() -> None:
    j = journal(
        stages={D: frozenset({1})},
        specific={"HYP": frozenset({D})},
        generic=frozenset({D + timedelta(days=14)}),
        registers=(RegisterSpan("HYP"),),
    )
    p = plan_patient(j, RULES, WINDOW)
    (change,) = status_changes(j, p.items, year=YEAR, as_of=YEAR.end, conditions=["HYP"])
    assert (change.before, change.after) == (PcaStatus.INVITED_ONCE, PcaStatus.PCA_ELIGIBLE)
    assert change.describe() == "HYP: invited_once -> pca_eligible"
    assert change.becomes_eligible


def test_window_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Window(date(2026, 5, 1), date(2026, 4, 30))


def test_plan_groups_by_date_and_code() -> None:
    j1 = journal(generic=frozenset({D}))
    j2 = journal(patient_id=2, generic=frozenset({D}), registers=(RegisterSpan("HYP"),))
    result = plan([j1, j2], RULES, WINDOW)
    assert result.groups() == [(D, DM, 1), (D, HYP, 2), (D, "XabEf", 2)]
    assert result.count_by_reason() == {
        Reason.GENERIC_WITHOUT_LTC: 2,
        Reason.LTC_WITHOUT_CONDITION_CODE: 3,
    }
    assert result.count_by_condition() == {"DM": 1, "HYP": 2}


# ---- properties --------------------------------------------------------------------------

CONDITIONS = ["HYP", "DM", "AF"]
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 5, 31))


@st.composite
def journals(draw: st.DrawFn) -> PatientJournal:
    generic = draw(st.frozensets(days, max_size=5))
    stages = draw(st.dictionaries(days, st.frozensets(st.integers(1, 3), min_size=1), max_size=4))
    specific = {c: draw(st.frozensets(days, max_size=3)) for c in CONDITIONS}
    reviews = {c: draw(st.frozensets(days, max_size=1)) for c in CONDITIONS}
    registers = tuple(
        RegisterSpan(c, draw(st.none() | days), draw(st.none() | days))
        for c in draw(st.lists(st.sampled_from(CONDITIONS), unique=True))
    )
    return PatientJournal(
        patient_id=1,
        generic=generic,
        stages=stages,
        specific=specific,
        reviews=reviews,
        registers=registers,
        registered_on=draw(st.none() | days),
    )


windows = st.tuples(days, days).map(lambda t: Window(min(t), max(t)))


def with_codes(j: PatientJournal, items: tuple[PlannedCode, ...]) -> PatientJournal:
    """The journal as it reads after apply (recorded codes count as entries)."""
    stages = {d: set(s) for d, s in j.stages.items()}
    specific = {c: set(d) for c, d in j.specific.items()}
    for i in items:
        if i.condition is None:
            stages.setdefault(i.date, set()).add(i.stage)
        else:
            specific.setdefault(i.condition, set()).add(i.date)
    return replace(
        j,
        stages={d: frozenset(s) for d, s in stages.items()},
        specific={c: frozenset(d) for c, d in specific.items()},
    )


@settings(max_examples=300, deadline=None)
@given(journals(), windows)
def test_never_moves_a_date_and_stays_in_the_window(j: PatientJournal, w: Window) -> None:
    invitation_dates = set(j.invitation_dates())
    for item in plan_patient(j, RULES, w).items:
        assert item.date in w
        assert item.date in invitation_dates
        assert j.registered_on is None or item.date >= j.registered_on


@settings(max_examples=300, deadline=None)
@given(journals(), windows)
def test_condition_codes_only_for_registers_held_that_day(j: PatientJournal, w: Window) -> None:
    p = plan_patient(j, RULES, w)
    for item in p.items:
        if item.condition is not None:
            assert any(
                s.condition == item.condition and s.active_on(item.date) for s in j.registers
            )
            assert item.date not in j.specific.get(item.condition, frozenset())
            assert item.condition in RULES.record_codes
    for b in p.blocked:
        assert b.condition is None or b.condition not in RULES.record_codes or b.too_close


@settings(max_examples=300, deadline=None)
@given(journals(), windows)
def test_applying_the_plan_leaves_nothing_to_do(j: PatientJournal, w: Window) -> None:
    first = plan_patient(j, RULES, w)
    again = plan_patient(with_codes(j, first.items), RULES, w)
    assert again.items == ()
    assert again.blocked == first.blocked


@settings(max_examples=300, deadline=None)
@given(journals(), windows)
def test_every_stage_date_is_covered_after_the_plan(j: PatientJournal, w: Window) -> None:
    p = plan_patient(j, RULES, w)
    after = with_codes(j, p.items)
    blocked = {(b.date, b.condition) for b in p.blocked}
    for day in after.stages:
        if day not in w or (j.registered_on is not None and day < j.registered_on):
            continue
        for s in j.registers:
            if s.active_on(day):
                assert day in after.specific.get(s.condition, frozenset()) or (
                    (day, s.condition) in blocked
                )
    # and every generic date in the window now has a stage code, or its stage is blocked
    for day in j.generic:
        if day in w and (j.registered_on is None or day >= j.registered_on):
            assert day in after.stages or (day, None) in blocked


@settings(max_examples=300, deadline=None)
@given(journals(), windows)
def test_stage_is_position_in_the_qof_year_capped_at_three(j: PatientJournal, w: Window) -> None:
    for item in plan_patient(j, RULES, w).items:
        if item.reason is Reason.GENERIC_WITHOUT_LTC:
            year_start = QofYear(item.date.year if item.date.month >= 4 else item.date.year - 1)
            earlier = [d for d in j.invitation_dates() if year_start.start <= d < item.date]
            assert item.stage == min(len(earlier) + 1, 3)
            assert item.code == STAGES[item.stage]


@settings(max_examples=200, deadline=None)
@given(journals())
def test_backfill_never_makes_status_worse(j: PatientJournal) -> None:
    p = plan_patient(j, RULES, WINDOW)
    rank = {s: n for n, s in enumerate(PcaStatus)}  # precedence order: lower is better
    for change in status_changes(j, p.items, year=YEAR, as_of=YEAR.end, conditions=CONDITIONS):
        assert rank[change.after] <= rank[change.before]
        if change.before is PcaStatus.ACHIEVED:
            assert change.after is PcaStatus.ACHIEVED


def test_a_closed_record_gets_nothing() -> None:
    j = journal(generic=frozenset({D}), codable=False)
    assert plan_patient(j, RULES, WINDOW) == plan_patient(journal(codable=False), RULES, WINDOW)
    assert plan_patient(j, RULES, WINDOW).items == ()


def test_an_invite_already_coded_before_a_review_is_not_flagged() -> None:
    j = journal(
        stages={D: frozenset({1})},
        specific={"HYP": frozenset({D})},
        reviews={"HYP": frozenset({D + timedelta(days=30)})},
        registers=(RegisterSpan("HYP"),),
    )
    assert plan_patient(j, RULES, WINDOW).cannot_fix == ()
