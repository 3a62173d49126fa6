"""Depression (and cancer) from QOF year 2025/26: invited as good care, but no QOF invite code
is recorded, nothing is "could not be coded", PCA does not apply, backfill plans no code for
them, and each condition's stages still move on. 2024/25 still records and backfills them.
Each runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine_seed import HYP, STAGE, Seeder, live_codes
from test_tui_support import app_for, settle
from textual.content import Content
from textual.widgets import Static

from recall.services.backfill import plan_backfill
from recall.services.batches import confirm_batch, plan_batch
from recall.services.batches.codes import preview_codes
from recall.services.pca_report import pca_report
from recall.services.views.dashboard import pca_bars
from recall.services.views.year_view import year_dashboard
from recall.services.worksheet import worksheet_rows
from recall.store.db import Database
from recall.store.models import event_t
from recall.tui.screens.home import HomeScreen

D = dt.date
TODAY = D(2026, 11, 27)
DEPR = "1110911000000106"  # DEPRINVITE_COD, the depression QOF invitation code


def test_depression_is_invited_without_a_qof_code_from_2025(db: Database) -> None:
    seed = Seeder(db)
    both, _ = seed.patient(conditions=("HYP", "DEPR"))
    alone, _ = seed.patient(conditions=("DEPR",), given="Dee")
    first = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    stages = {i.patient_id: dict(i.condition_stages) for i in first.invitations}
    assert stages == {both: {"HYP": 1, "DEPR": 1}, alone: {"DEPR": 1}}
    rows, missing = preview_codes(db, first.batch.id)
    assert DEPR not in {r["code"] for r in rows} and not missing
    confirm_batch(db, first.batch.id, today=TODAY)
    day1 = D(2026, 11, 2)
    assert live_codes(db, both) == {(STAGE[1], day1), (HYP, day1)}
    assert live_codes(db, alone) == {(STAGE[1], day1)}
    sheet = worksheet_rows(db, batch_id=first.batch.id)
    assert DEPR not in {r.code for r in sheet} and "DEPR" not in {r.condition for r in sheet}

    # the letter moved depression on to its 2nd invitation, though no code says so
    second = plan_batch(db, 2, "2026-11", D(2026, 11, 20), today=D(2026, 11, 20))
    stages = {i.patient_id: dict(i.condition_stages) for i in second.invitations}
    assert stages == {both: {"HYP": 2, "DEPR": 2}, alone: {"DEPR": 2}}
    confirm_batch(db, second.batch.id, today=D(2026, 11, 20))
    assert (DEPR, D(2026, 11, 20)) not in live_codes(db, both)

    report = pca_report(db, TODAY)
    depr = report.conditions["DEPR"]
    assert not depr.pca_applies and "PCA does not apply" in depr.qof_note
    assert depr.counts["generic_only"] == 0 and depr.need_second_by_year_end == 0
    assert report.conditions["HYP"].counts["pca_eligible"] == 1
    row = next(r for r in year_dashboard(db, TODAY).rows if r.key == "DEPR")
    assert "no QOF code is needed" in row.qof_note
    plan = plan_backfill(db, today=TODAY)
    assert "DEPR" not in {i.condition for i in plan.items}
    assert "DEPR" not in {b.condition for b in plan.blocked}


def test_backfill_still_codes_depression_in_2024_25_but_not_after(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP", "DEPR"))
    old, new = D(2024, 11, 5), D(2025, 11, 5)
    with db.write() as s:
        s.execute(
            event_t.insert(),
            [
                {"patient_id": pid, "date": old, "code": STAGE[1], "code_system": "ctv3"},
                {"patient_id": pid, "date": new, "code": STAGE[1], "code_system": "ctv3"},
            ],
        )
    last_year = plan_backfill(db, D(2024, 4, 1), D(2025, 3, 31), today=TODAY)
    assert {(i.condition, i.date) for i in last_year.items} == {("HYP", old), ("DEPR", old)}
    this_year = plan_backfill(db, D(2025, 4, 1), D(2026, 3, 31), today=TODAY)
    assert {(i.condition, i.date) for i in this_year.items} == {("HYP", new)}


async def test_home_draws_no_can_be_excepted_part_where_nobody_can_be(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Depression invited twice, 7+ days apart, can be excepted by nobody from 2025/26: Home's
    bar shows that patient as invited (not "can be excepted", not "done"), the line says
    "(no PCA)" as the year screen says n/a, and the key leaves "can be excepted" out until a
    condition that can be excepted is on screen."""
    seed = Seeder(sqlite_db)
    twice, _ = seed.patient(conditions=("DEPR",))
    once, _ = seed.patient(conditions=("DEPR",), given="Dee")
    seed.events((twice, D(2026, 10, 1), DEPR), (twice, D(2026, 10, 20), DEPR))
    seed.events((once, D(2026, 10, 1), DEPR))
    assert pca_report(sqlite_db, TODAY).conditions["DEPR"].counts["pca_eligible"] == 1
    (bar,) = pca_bars(sqlite_db, TODAY)
    assert (bar.key, bar.eligible, bar.invited_twice, bar.invited_once) == ("DEPR", 0, 1, 1)
    assert not bar.can_except and bar.need_second == 0

    app = app_for(f"sqlite:///{tmp_path / 'recall.db'}", tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        text = str(home.query_one("#pca", Static).render())
        (line,) = [ln for ln in text.splitlines() if ln.startswith("Depression")]
        assert line.startswith("Depression (no PCA) ")
        assert line.endswith("0% done of 2") and "█" not in line  # reviewed or excepted: none
        assert line.count("▓") == 28  # both invited: the whole bar
        legend = Content.from_markup(str(home.query_one("#pca-panel").border_subtitle)).plain
        assert "can be excepted" not in legend and "▓ invited" in legend

        # a condition whose patients can be excepted: its bar has the part, the key names it
        hyp, _ = seed.patient(conditions=("HYP",), given="Hal")
        seed.events((hyp, D(2026, 10, 1), HYP), (hyp, D(2026, 10, 20), HYP))
        home.refresh_dashboard()
        await settle(pilot)
        text = str(home.query_one("#pca", Static).render())
        (line,) = [ln for ln in text.splitlines() if ln.startswith("Hypertension")]
        assert line.endswith("100% done of 1") and line.count("█") == 28
        legend = Content.from_markup(str(home.query_one("#pca-panel").border_subtitle)).plain
        assert "█ can be excepted" in legend
