"""Property: confirming never records an invitation under 7 days from another one."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from conftest import pca_statuses
from engine_seed import HYP, Seeder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recall.services.batches import confirm_batch, plan_batch
from recall.services.errors import Refused
from recall.store.db import Database

TODAY = dt.date(2026, 11, 27)
YEAR_DAYS = st.dates(min_value=dt.date(2026, 4, 1), max_value=TODAY)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(existing=st.lists(YEAR_DAYS, max_size=3), sent=YEAR_DAYS)
def test_confirm_refuses_exactly_when_an_invite_is_under_7_days_away(
    existing: list[dt.date], sent: dt.date
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'p.db'}")
        try:
            seed = Seeder(db)
            pid, _ = seed.patient(conditions=("HYP",), dob=dt.date(1950, sent.month, 1))
            plan = plan_batch(db, 1, f"{sent.year}-{sent.month:02d}", sent, today=TODAY)
            assert len(plan.invitations) == 1
            if existing:
                seed.events(*[(pid, d, HYP) for d in set(existing)])
            # codes imported after planning: a later invitation breaks stage order, one under
            # 7 days before breaks the 7-day rule (refused); an earlier one 7+ days before
            # means this letter is no longer the 1st (taken out, not coded); the same day is
            # the same invitation (coded once)
            before = sorted({d for d in existing if d < sent})
            later = any(d > sent for d in existing)
            close = bool(before) and len(before) < 3 and (sent - before[-1]).days < 7
            try:
                result = confirm_batch(db, plan.batch.id, sent, today=TODAY)
                refused = False
            except Refused as exc:
                refused = True
                assert exc.problems and exc.problems[0]["condition"] == "HYP"
            assert refused == (later or close)
            status = pca_statuses(db, TODAY)[(pid, "HYP")]
            if not refused:
                assert (sent in status.invitations) == (not before or sent in existing)
                assert bool(result.dropped) == bool(before)
        finally:
            db.dispose()
