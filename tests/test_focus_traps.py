"""Keys go where the user expects: back from a patient the list has the keys (not the search
box), "Other month" opens on its month list, and a search typed back to one letter empties
the list. Driven with real key presses at 80x24."""

from __future__ import annotations

from pathlib import Path

from test_tui_snapshots import SnapCompare, snap
from test_tui_support import app_for, press, settle
from textual.widgets import DataTable, OptionList

from recall.tui.screens.patients import PatientScreen, PatientSearchScreen
from recall.tui.screens.run import OtherRunModal, ReviewScreen
from recall.tui.widgets import TextBox


async def test_esc_from_a_patient_gives_the_keys_to_the_list(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f", *"smith", "enter")
        search = app.screen
        assert isinstance(search, PatientSearchScreen)
        assert isinstance(app.focused, DataTable) and search.hits
        await press(pilot, "down", "enter")
        assert isinstance(app.screen, PatientScreen)
        await press(pilot, "escape")
        assert app.screen_stack[-1] is search
        assert app.focused is search.query_one("#hits", DataTable)
        await press(pilot, "b", "r", "u")  # hotkeys of other screens: nothing is typed
        assert search.query_one("#search", TextBox).value == "smith"
        await press(pilot, "enter")  # and Enter opens the highlighted patient again
        assert isinstance(app.screen, PatientScreen)


async def test_other_month_opens_on_the_month_list(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "r", "o")
        modal = app.screen
        assert isinstance(modal, OtherRunModal)
        months = modal.query_one("#other-months", OptionList)
        assert app.focused is months
        assert modal.months[0] == "2026-04" and modal.months[-1] == "2027-03"
        assert months.highlighted == modal.months.index("2026-11")  # this month first
        await press(pilot, "up", "up", "enter")
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert (review.stage, review.month) == (1, "2026-09")


async def test_typing_back_to_one_letter_empties_the_list(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f", *"smi")
        screen = app.screen
        assert isinstance(screen, PatientSearchScreen)
        await pilot.pause(0.4)  # the search waits for a pause in typing
        await settle(pilot)
        table = screen.query_one(DataTable)
        assert table.row_count > 0
        await press(pilot, "backspace", "backspace")
        await pilot.pause(0.4)
        await settle(pilot)
        assert screen.query_one("#search", TextBox).value == "s"
        assert table.row_count == 0 and not screen.hits
        assert "at least 2" in str(screen.query_one("#search-count").render())


def test_other_month_snapshot(snap_compare: SnapCompare, demo_url: str) -> None:
    assert snap(snap_compare, demo_url, "other_month", ["r", "o"])
