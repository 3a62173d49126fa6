"""The one invitation rule, on random histories (pure domain, hypothesis).

Planning asks the rule with the practice's interval, confirming asks it with the 7-day minimum;
whatever planning invites, confirming the same date accepts. And a practice that sends every
letter the rule offers, on any sequence of days, only ever records true invitations: on or
after registration and register entry, in stage order, 7+ days apart, one letter a day.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from recall.domain.invitations import (
    ConditionHistory,
    PatientFacts,
    RegisterSpan,
    Why,
    decide,
    window_start,
)
from recall.domain.qof_year import QofYear

YEAR = QofYear(2026)
CONDS = ("AST", "DM", "HYP")
days = st.integers(min_value=0, max_value=364).map(lambda n: YEAR.start + dt.timedelta(days=n))
maybe_day = st.none() | days


@st.composite
def facts(draw: st.DrawFn) -> PatientFacts:
    conds = draw(st.lists(st.sampled_from(CONDS), min_size=1, max_size=3, unique=True))
    spans = tuple(RegisterSpan(c, draw(maybe_day), None) for c in conds)
    history = {
        c: ConditionHistory(invites=frozenset(draw(st.lists(days, max_size=3)))) for c in conds
    }
    stages = {n: frozenset(draw(st.lists(days, max_size=1))) for n in (1, 2, 3)}
    return PatientFacts(
        patient_id=1,
        registered_on=draw(maybe_day),
        registers=spans,
        history=history,
        stage_codes={n: d for n, d in stages.items() if d},
        generic=frozenset(draw(st.lists(days, max_size=2))),
    )


@settings(max_examples=400, deadline=None)
@given(f=facts(), send=days, interval=st.integers(min_value=7, max_value=35))
def test_what_planning_invites_confirming_accepts(
    f: PatientFacts, send: dt.date, interval: int
) -> None:
    planned = decide(f, send_date=send, year=YEAR, conditions=CONDS, interval=interval)
    confirmed = decide(f, send_date=send, year=YEAR, conditions=CONDS)
    at_confirm = {u.condition: u.stage for u in confirmed.due}
    for u in planned.due:
        assert at_confirm.get(u.condition) == u.stage
        span = f.span(u.condition, send)
        assert span is not None and send >= window_start(f, span, YEAR)
        if u.previous is not None:
            assert (send - u.previous).days >= interval
        assert not any(d > send for d in f.of(u.condition).invites)


@settings(max_examples=300, deadline=None)
@given(
    conds=st.lists(st.sampled_from(CONDS), min_size=1, max_size=3, unique=True),
    entered=st.lists(maybe_day, min_size=3, max_size=3),
    registered=maybe_day,
    sends=st.lists(days, min_size=1, max_size=12),
    interval=st.integers(min_value=7, max_value=28),
)
def test_sending_whatever_is_due_records_only_true_invitations(
    conds: list[str],
    entered: list[dt.date | None],
    registered: dt.date | None,
    sends: list[dt.date],
    interval: int,
) -> None:
    spans = tuple(RegisterSpan(c, e) for c, e in zip(conds, entered, strict=False))
    invites: dict[str, set[dt.date]] = {c: set() for c in conds}
    stage_codes: dict[int, set[dt.date]] = {1: set(), 2: set(), 3: set()}
    stage_of: dict[tuple[str, dt.date], int] = {}
    for send in sorted(sends):
        f = PatientFacts(
            patient_id=1,
            registered_on=registered,
            registers=spans,
            history={c: ConditionHistory(invites=frozenset(d)) for c, d in invites.items()},
            stage_codes={n: frozenset(d) for n, d in stage_codes.items() if d},
        )
        d = decide(f, send_date=send, year=YEAR, conditions=conds, interval=interval)
        if not d.due:
            continue
        stage_codes[d.stage].add(send)
        for u in d.due:
            if not u.coded_already:
                invites[u.condition].add(send)
                stage_of[(u.condition, send)] = u.stage
    # never two stage codes on one date
    all_days = [day for n in stage_codes for day in stage_codes[n]]
    assert len(all_days) == len(set(all_days))
    for c in conds:
        got = sorted(invites[c])
        span = next(s for s in spans if s.condition == c)
        start = max(d for d in (YEAR.start, registered, span.entered) if d is not None)
        assert all(day >= start for day in got)
        assert [stage_of[(c, day)] for day in got] == list(range(1, len(got) + 1))
        assert all((b - a).days >= interval for a, b in itertools.pairwise(got))
        assert len(got) <= 3


def test_same_day_code_is_the_same_invitation() -> None:
    day = dt.date(2026, 11, 20)
    f = PatientFacts(
        patient_id=1,
        registers=(RegisterSpan("HYP"),),
        history={"HYP": ConditionHistory(invites=frozenset({day}))},
    )
    d = decide(f, send_date=day, year=YEAR, conditions=CONDS)
    assert [(u.condition, u.stage, u.coded_already) for u in d.due] == [("HYP", 1, True)]


def test_a_second_letter_the_same_day_is_refused() -> None:
    day = dt.date(2026, 11, 20)
    earlier = day - dt.timedelta(days=20)
    f = PatientFacts(
        patient_id=1,
        registers=(RegisterSpan("HYP"), RegisterSpan("DM")),
        history={
            "HYP": ConditionHistory(invites=frozenset({earlier})),
            "DM": ConditionHistory(invites=frozenset({day})),
        },
        stage_codes={1: frozenset({earlier, day})},
    )
    d = decide(f, send_date=day, year=YEAR, conditions=CONDS)
    # DM's 1st letter went today; HYP's 2nd would need a 2nd-letter stage code the same day
    assert d.due == () and {n.why for n in d.not_due} == {Why.OTHER_LETTER_SAME_DAY}
