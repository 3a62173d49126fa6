"""A left-out reason says what is true first: on the 1st-letter list, a patient who already
had her 2nd letter five days ago reads "already had its 2nd invitation", not only a gap."""

from __future__ import annotations

from datetime import date

from recall.domain.invitations import (
    ConditionHistory,
    PatientFacts,
    RegisterSpan,
    Why,
    decide,
)
from recall.domain.qof_year import QofYear

Y = QofYear(2026)


def test_too_close_reason_names_the_invitation_already_had() -> None:
    first, second = date(2026, 11, 10), date(2026, 11, 24)
    facts = PatientFacts(
        patient_id=1,
        registers=(RegisterSpan("DM"),),
        history={"DM": ConditionHistory(invites=frozenset({first, second}))},
        stage_codes={2: frozenset({second})},
    )
    d = decide(facts, send_date=date(2026, 11, 29), year=Y, conditions=["DM"], interval=14)
    (left,) = d.not_due
    assert left.why == Why.TOO_CLOSE
    assert left.reason.startswith("already had its 2nd invitation (sent 2026-11-24, 5 days"), (
        left.reason
    )
    assert "the 3rd can go from 2026-12-08" in left.reason
    assert "at least 7 days apart" in left.reason
