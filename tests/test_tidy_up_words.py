"""The tidy-up is said as what it is: a task only when its codes change someone's PCA status,
optional record-keeping otherwise; every count has its noun; and a QOF year that has ended is
not told it needs new letters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine_seed import GENERIC, Seeder
from test_tui_support import TODAY, app_for, press, settle
from textual.widgets import Static

from recall.services.views.dashboard import TidyUpGain, tidy_up_gain
from recall.store.db import Database
from recall.tui.screens.backfill import BackfillScreen
from recall.tui.screens.home import HomeScreen


def _text(widget: Static) -> str:
    return " ".join(str(widget.render()).split())


def test_gain_counts_patients_whose_letters_start_to_count(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",))
    assert tidy_up_gain(db, TODAY) == TidyUpGain(0, 0, 0)
    seed.events((pid, dt.date(2026, 10, 1), GENERIC))  # a letter with only the generic code
    gain = tidy_up_gain(db, TODAY)
    assert gain.codes > 0 and gain.exceptable == 0 and gain.counted == 1


async def test_home_and_tidy_up_screen_words(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen) and home.dashboard is not None
        gain = home.tidy_up
        assert gain.codes and not gain.exceptable and gain.counted  # the demo's case
        said = " ".join(str(home._warnings_text(home.dashboard)).split())
        assert f"so that the letters of {gain.counted:,} patients count" in said
        home.tidy_up = TidyUpGain(codes=5)  # codes that change nobody's PCA status
        said = " ".join(str(home._warnings_text(home.dashboard)).split())
        assert "Optional: 5 codes" in said and "Press b" not in said
        await press(pilot, "b")
        screen = app.screen
        assert isinstance(screen, BackfillScreen) and screen.view is not None
        summary = _text(screen.query_one("#bf-summary", Static))
        assert "Afterwards 0 patients" not in summary
        assert "None can be excepted yet, but the letters of" in summary
        detail = _text(screen.query_one("#bf-detail", Static))
        count = screen.view.plan.groups[0].count
        assert detail.endswith(f"for {count:,} {'patient' if count == 1 else 'patients'}.")
        await press(pilot, "l")  # last QOF year: it has ended
        summary = _text(screen.query_one("#bf-summary", Static))
        assert "Cannot be fixed here" in summary
        assert "new letters are needed" not in summary
        assert "QOF year 2025/26 has ended, so no new letter can count for it" in summary
