"""The read-only services behind the terminal UI, on SQLite and PostgreSQL: what the screens
show must agree with what the engine then does."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from recall.services.batches import confirm_batch
from recall.services.demo import build_demo
from recall.services.pca_report import pca_report
from recall.services.views.backfill_view import apply_tidy_up, load_backfill, plain_change
from recall.services.views.dashboard import (
    backfill_count,
    due_options,
    load_dashboard,
    pca_bars,
    stage_totals,
)
from recall.services.views.run_view import codes_to_record, open_review, reopen_review, set_included
from recall.services.views.settings_view import (
    load_settings_view,
    set_condition_enabled,
    update_settings,
)
from recall.store.db import Database

TODAY = dt.date(2026, 11, 27)


def test_dashboard_and_run_agree_with_the_engine(db: Database) -> None:
    build_demo(db, patients=600, today=TODAY, operator="test")
    dash = load_dashboard(db, TODAY)
    assert dash.patients == 600 and dash.days_left == 124 and dash.qof_year == "2026/27"
    assert any(not r.ready for r in dash.blocked)

    options = due_options(db, TODAY)
    first = options[0]
    assert (first.stage, first.month) == (1, "2026-11") and first.due > 0
    totals = stage_totals(options)
    assert [t.stage for t in totals] == [1, 2, 3]
    assert totals[0].due == sum(o.due for o in options if o.stage == 1)

    review = open_review(db, 1, "2026-11", today=TODAY)
    assert len(review.rows) == first.due
    out = review.rows[0]
    set_included(db, review.batch.id, out.patient_id, False, "moving away")
    again = reopen_review(db, review.batch.id, today=TODAY)
    left = next(r for r in again.rows if r.patient_id == out.patient_id)
    assert not left.included and left.reason == "moving away"
    # re-planning keeps the unticked patient unticked, under the same batch
    replanned = open_review(db, 1, "2026-11", today=TODAY)
    assert replanned.batch.id == review.batch.id
    assert not next(r for r in replanned.rows if r.patient_id == out.patient_id).included

    planned = codes_to_record(db, review.batch.id)
    result = confirm_batch(db, review.batch.id, TODAY, today=TODAY, operator="test")
    recorded = Counter(c.code for c in result.codes)
    assert {p.code: p.count for p in planned} == dict(recorded)
    assert out.patient_id not in {c.patient_id for c in result.codes}

    bars = pca_bars(db, TODAY)
    report = pca_report(db, TODAY)
    assert {b.key: b.register for b in bars} == {
        k: c.register for k, c in report.conditions.items() if c.register
    }


def test_tidy_up_view_applies_what_it_showed(db: Database, tmp_path: Path) -> None:
    build_demo(db, patients=600, today=TODAY, operator="test")
    view = load_backfill(db, TODAY)
    n = backfill_count(db, TODAY)
    assert n == len(view.plan.items) > 0
    group = view.plan.groups[0]
    assert len(view.items_in(group.date, group.code)) == group.count
    assert view.label(group.date, group.code)
    assert all(view.names.get(i.patient_id) for i in view.plan.items)
    result = apply_tidy_up(db, TODAY, out_dir=tmp_path)
    assert result.recorded == n
    assert result.worksheet is not None and result.worksheet.exists()
    assert backfill_count(db, TODAY) == 0
    assert plain_change("HF: invited_once -> pca_eligible") == "invited once → can be excepted"


def test_settings_view_saves_and_turns_conditions_on(db: Database) -> None:
    view = load_settings_view(db)
    af = next(r for r in view.readiness if r.key == "AF")
    assert not af.ready and af.fix
    new = view.settings
    new.practice_name = "Riverside Surgery"
    new.stage_interval_days = 21
    assert set(update_settings(db, new, operator="test")) == {
        "practice_name",
        "stage_interval_days",
    }
    set_condition_enabled(db, "AF", True, operator="test")
    again = load_settings_view(db)
    assert again.settings.practice_name == "Riverside Surgery"
    assert next(r for r in again.readiness if r.key == "AF").ready
