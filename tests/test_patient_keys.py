"""Patient screens do what the keys say and nothing more: `b` asks before marking booked, and
a search cut back to one letter does not leave the last list on screen."""

from __future__ import annotations

from pathlib import Path

from test_tui_support import TODAY, app_for, press, settle
from textual.widgets import DataTable

from recall.services.patients import patient_view
from recall.services.views.year_view import cell_patients
from recall.store.db import Database
from recall.tui.screens.patients import PatientScreen, PatientSearchScreen
from recall.tui.widgets import ConfirmModal, TextBox


def _someone(url: str) -> str:
    db = Database(url)
    try:
        return cell_patients(db, "HYP", "not_invited", TODAY)[0].nhs_number
    finally:
        db.dispose()


def _response(url: str, nhs: str) -> str | None:
    db = Database(url)
    try:
        return patient_view(db, nhs, TODAY).status["HYP"].response
    finally:
        db.dispose()


async def test_booked_asks_first(demo_url: str, tmp_path: Path) -> None:
    nhs = _someone(demo_url)
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(PatientScreen(nhs))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PatientScreen) and screen.view is not None
        table = screen.query_one("#conditions", DataTable)
        table.move_cursor(row=list(screen.view.status).index("HYP"))
        await press(pilot, "b")
        asked = app.screen
        assert isinstance(asked, ConfirmModal)
        await press(pilot, "n")
        assert app.screen is not asked and _response(demo_url, nhs) is None
        await press(pilot, "b", "y")
        assert (_response(demo_url, nhs) or "").startswith("booked")


async def test_one_letter_search_clears_the_old_list(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        screen = app.screen
        assert isinstance(screen, PatientSearchScreen)
        box = screen.query_one("#search", TextBox)
        box.value = "smith"
        await pilot.pause(0.4)
        await settle(pilot)
        assert screen.query_one(DataTable).row_count > 0
        box.value = "s"
        await pilot.pause(0.4)
        await settle(pilot)
        assert screen.query_one(DataTable).row_count == 0
        assert "at least 2" in str(screen.query_one("#search-count").render())
