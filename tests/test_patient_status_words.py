"""The patient screen says what `recall patient` and the invitation rule say: a condition whose
letter went today is not also "due now", and letters without a code this tool can add are not
"not invited"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine_seed import STAGE, Seeder
from test_tui_support import TODAY, app_for, settle
from textual.widgets import DataTable, Static

from recall.services.batches import confirm_batch, plan_batch
from recall.services.patients import UNCODED_PLAIN, patient_view
from recall.store.db import Database
from recall.tui.screens.patients import PatientScreen

D = dt.date


def _seed(db: Database) -> tuple[str, str, str]:
    """Invited for HYP today; a CHD letter with only a stage code; HYP and CHD, invited today
    for HYP (CHD cannot be coded yet, so the letter did not invite for it)."""
    seed = Seeder(db)
    _, invited = seed.patient(conditions=("HYP",), given="Invited")
    _, both = seed.patient(conditions=("HYP", "CHD"), given="Both")
    chd, uncoded = seed.patient(conditions=("CHD",), given="Uncoded")
    seed.events((chd, D(2026, 10, 1), STAGE[1]))
    plan = plan_batch(db, 1, "2026-11", TODAY, today=TODAY)
    confirm_batch(db, plan.batch.id, TODAY, today=TODAY)
    return invited, uncoded, both


def test_status_and_next_step_agree(db: Database) -> None:
    invited, uncoded, both = _seed(db)
    hyp = patient_view(db, invited, TODAY).status["HYP"]
    assert hyp.status == "invited_once" and hyp.short == "invited once"
    assert "due now" not in hyp.next_step
    assert hyp.next_step == "1st invitation sent 2026-11-27: the 2nd can go from 2026-12-11"
    chd = patient_view(db, uncoded, TODAY).status["CHD"]
    assert chd.plain == UNCODED_PLAIN and chd.short == "invited, no code"
    other = patient_view(db, both, TODAY).status["CHD"]
    assert other.plain == "not invited yet" and other.short == "not invited"


async def test_screen_row_and_text_say_the_same(db: Database, db_url: str, tmp_path: Path) -> None:
    invited, uncoded, _ = _seed(db)
    app = app_for(db_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for nhs, key, row_word in (
            (invited, "HYP", "invited once"),
            (uncoded, "CHD", "invited, no code"),
        ):
            app.push_screen(PatientScreen(nhs))
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, PatientScreen)
            table = screen.query_one("#conditions", DataTable)
            assert str(table.get_row(key)[1]) == row_word
            text = " ".join(str(screen.query_one("#condition-detail", Static).render()).split())
            assert "due now" not in text and "not invited" not in text
            app.pop_screen()
            await settle(pilot)
