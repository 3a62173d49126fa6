"""Home warns about letters that were made but not recorded as sent: until they are, no code
is recorded for those patients and the invitations do not count."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine_seed import Seeder
from test_tui_support import app_for, press, settle
from textual.widgets import Static

from recall.services.batches import confirm_batch, plan_batch
from recall.services.letters import render_batch_letters
from recall.services.views.dashboard import UnsentLetters, load_dashboard
from recall.store.db import Database
from recall.tui.screens.home import HomeScreen

D = dt.date
TODAY = D(2026, 11, 27)


def test_letters_made_but_not_sent_are_listed_until_confirmed(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    seed.patient(conditions=("HYP",), given="A")
    seed.patient(conditions=("DM",), given="B")
    plan = plan_batch(db, 1, "2026-11", TODAY, today=TODAY)
    assert load_dashboard(db, TODAY).unsent == ()  # planned, no letters yet: nothing to say
    render_batch_letters(db, plan.batch.id, tmp_path / "letters", TODAY, pdf=False)
    assert load_dashboard(db, TODAY).unsent == (
        UnsentLetters(
            batch_id=plan.batch.id,
            kind="monthly",
            stage=1,
            month="2026-11",
            made_on=TODAY,
            patients=2,
        ),
    )
    confirm_batch(db, plan.batch.id, TODAY, today=TODAY)
    assert load_dashboard(db, TODAY).unsent == ()


async def test_home_says_letters_were_made_but_not_recorded(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "letters")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = str(app.screen.query_one("#warnings", Static).render())
        assert "not yet recorded as sent" not in before
        await press(pilot, "r", "enter", "g", "escape", "escape", "escape")
        assert isinstance(app.screen, HomeScreen)
        text = str(app.screen.query_one("#warnings", Static).render())
        assert "1st letters for November 2026 made on Fri 27 Nov 2026" in " ".join(text.split())
        assert "not yet recorded as sent" in text
