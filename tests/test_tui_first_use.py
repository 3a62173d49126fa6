"""What a new user runs into at 80x24 on the demo practice, driven with real keys: the
"Sent today?" screen scrolls to its last lines and says which conditions need no QOF code,
Esc from Find goes home, the Import browser opens somewhere useful, a refused reason keeps
its dialog, the "Another day" example is a day it accepts, and footers offer only keys that
do something."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_tui_pcn import pcn_template_fixture, pcn_url_fixture  # noqa: F401 (fixtures)
from test_tui_snapshots import SnapCompare, snap
from test_tui_support import TODAY, app_for, press, settle
from textual import events
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from recall.services.views.run_view import open_review, uncoded_conditions
from recall.store.db import Database
from recall.tui.screens.confirm import ConfirmSentScreen
from recall.tui.screens.help import HelpScreen
from recall.tui.screens.home import HomeScreen
from recall.tui.screens.imports import BrowseModal, CsvTree, ImportScreen
from recall.tui.screens.patients import PatientScreen, PatientSearchScreen
from recall.tui.screens.settings import SettingsScreen
from recall.tui.widgets import TextBox


def shown(app: Any) -> list[str]:
    """The screen's lines as the user sees them (the same render a snapshot takes)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text().splitlines()


# the 2nd-letter list: the demo's longest "Sent today?" (six codes and depression)
TO_CONFIRM_2ND = ("r", "down", "enter", "g", "enter", "enter")


class TestSentTodayScrolls:
    async def test_keys_and_mouse_reach_the_last_lines(self, demo_url: str, tmp_path: Path) -> None:
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, *TO_CONFIRM_2ND)
            screen = app.screen
            assert isinstance(screen, ConfirmSentScreen)
            body = screen.query_one("#confirm-body", VerticalScroll)
            assert app.focused is body
            assert body.max_scroll_y > 0 and body.scroll_y == 0
            text = str(screen.query_one("#codes", Static).render())
            assert text.rstrip().endswith("the next screen lists them.")
            await press(pilot, "down")
            assert body.scroll_y == 1
            await press(pilot, "pagedown")
            assert body.scroll_y > 1
            await press(pilot, "home")
            assert body.scroll_y == 0
            await press(pilot, "end")
            assert body.scroll_y == body.max_scroll_y
            await press(pilot, "home")
            body.post_message(events.MouseScrollDown(body, 3, 3, 0, 1, 0, False, False, False))
            await settle(pilot)
            assert body.scroll_y > 0

    async def test_says_depression_gets_only_the_letter_code(
        self, demo_url: str, tmp_path: Path
    ) -> None:
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, *TO_CONFIRM_2ND)
            screen = app.screen
            assert isinstance(screen, ConfirmSentScreen)
            text = " ".join(str(screen.query_one("#codes", Static).render()).split())
            assert "Depression (" in text
            assert "only the 2nd letter code is added (no QOF code is needed from 2025/26)." in text
            assert "Asthma (" not in text  # asthma still has its QOF code

    def test_a_year_that_still_codes_depression_says_nothing(self, demo_url: str) -> None:
        db = Database(demo_url)
        try:
            review = open_review(db, 2, "2026-11", today=TODAY)
            today = uncoded_conditions(db, review.batch.id)
            assert [u.name for u in today] == ["Depression"] and today[0].since == "2025/26"
            before = uncoded_conditions(db, review.batch.id, sent_on=dt.date(2025, 3, 1))
            assert before == []
        finally:
            db.dispose()

    def test_snapshot_scrolled_to_the_end(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "confirm_end", [*TO_CONFIRM_2ND, "end"])


class TestEscFromFind:
    async def test_esc_after_a_patient_goes_home_and_the_next_key_is_a_hotkey(
        self, demo_url: str, tmp_path: Path
    ) -> None:
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, "f", *"richards", *["down"] * 9, "enter", "enter")
            assert isinstance(app.screen, PatientScreen)
            await press(pilot, "escape")
            search = app.screen
            assert isinstance(search, PatientSearchScreen)
            box = search.query_one("#search", Input)
            await press(pilot, "escape")
            assert isinstance(app.screen, HomeScreen)
            assert not isinstance(app.focused, Input)
            await press(pilot, "s")
            assert isinstance(app.screen, SettingsScreen)
            assert box.value == "richards"  # nothing was typed into the search

    async def test_esc_from_the_search_box_goes_home(self, demo_url: str, tmp_path: Path) -> None:
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, "f", *"smith", "enter")
            assert not isinstance(app.focused, Input)
            await press(pilot, "slash")  # "/" on the list: back to the box to type again
            assert isinstance(app.focused, Input)
            await press(pilot, "escape")
            assert isinstance(app.screen, HomeScreen)


class TestHomeFooter:
    """Quit and Help stay in Home's footer at 80 columns, with one practice or several."""

    async def test_quit_and_help_in_view(self, demo_url: str, pcn_url: str, tmp_path: Path) -> None:
        for url in (demo_url, pcn_url):
            app = app_for(url, tmp_path / "out")
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                if not isinstance(app.screen, HomeScreen):  # several: the practice picker
                    await press(pilot, "down", "down", "down", "enter")
                assert isinstance(app.screen, HomeScreen)
                footer = shown(app)[-1]
                for key in ("r Letters", "i Import", "q Quit", "? Help", "^p palette"):
                    assert key in footer, footer
                await press(pilot, "question_mark")  # Help still lists the keys left out
                assert isinstance(app.screen, HelpScreen)
                keys = str(app.screen.query_one(".dialog-body Static", Static).render())
                assert "c  Codes" in keys
                assert ("PCN overview" in keys) == (url == pcn_url)

    def test_snapshot_several_practices(self, snap_compare: SnapCompare, pcn_url: str) -> None:
        keys = ["down", "down", "down", "enter"]  # the practice with the longest name
        assert snap(snap_compare, pcn_url, "pcn_home", keys)


class TestImportBrowser:
    """Ctrl+O opens where the files are, and Backspace climbs to the parent folder."""

    @staticmethod
    def _folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A home folder holding only hidden files, started from a folder with exports."""
        home = tmp_path / "home"
        home.mkdir()
        (home / ".bashrc").write_text("", encoding="utf-8")
        work = tmp_path / "surgery" / "exports"
        work.mkdir(parents=True)
        (work / "patients.csv").write_text("nhs_number\n", encoding="utf-8")
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.chdir(work)
        return work

    async def test_opens_where_there_is_something_and_goes_up(
        self, demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        work = self._folders(tmp_path, monkeypatch)
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, "i")
            await pilot.press("ctrl+o")  # the tree's loader runs as long as it is open
            await pilot.pause(0.3)
            modal = app.screen
            assert isinstance(modal, BrowseModal)
            tree = modal.query_one(CsvTree)
            assert Path(tree.path) == work
            said = str(modal.query_one("#browse-folder", Static).render())
            assert said == f"In {work}"
            await pilot.press("backspace")
            await pilot.pause(0.3)
            assert Path(tree.path) == work.parent
            await pilot.press("backspace")
            await pilot.pause(0.3)
            assert Path(tree.path) == tmp_path
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ImportScreen)

    async def test_opens_in_the_folder_of_the_last_import(
        self, demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self._folders(tmp_path, monkeypatch)
        monkeypatch.chdir(tmp_path / "home")  # started where nothing shows: home it is
        elsewhere = tmp_path / "downloads"
        elsewhere.mkdir()
        bad = elsewhere / "registers.csv"
        bad.write_text("nhs_number,condition\n123,HYP\n", encoding="utf-8")
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, "i")
            screen = app.screen
            assert isinstance(screen, ImportScreen)
            box = screen.query_one("#path", TextBox)
            await pilot.press("ctrl+o")
            await pilot.pause(0.3)
            first = app.screen
            assert isinstance(first, BrowseModal)
            assert Path(first.query_one(CsvTree).path) == Path(os.environ["HOME"])
            await pilot.press("escape")
            await pilot.pause()
            box.value = str(bad)
            await press(pilot, "ctrl+s")  # refused (a bad file), but that is where files are
            box.value = ""
            await pilot.press("ctrl+o")
            await pilot.pause(0.3)
            again = app.screen
            assert isinstance(again, BrowseModal)
            assert Path(again.query_one(CsvTree).path) == elsewhere
            await pilot.press("escape")
            await pilot.pause()


class TestAnotherDay:
    async def test_the_example_is_a_day_it_accepts(self, demo_url: str, tmp_path: Path) -> None:
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, *TO_CONFIRM_2ND, "d")
            box = app.screen.query_one("#reason", TextBox)
            example = str(box.placeholder).removeprefix("e.g. ")
            assert example == f"{TODAY:%d/%m/%Y}"  # the letters were made today
            box.value = example
            await press(pilot, "enter")
            screen = app.screen
            assert isinstance(screen, ConfirmSentScreen) and screen.day == TODAY


class TestRefusedReason:
    async def test_the_dialog_stays_open_with_the_text_and_the_error(
        self, demo_url: str, tmp_path: Path
    ) -> None:
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, "r", "enter")
            review = app.screen
            name = review.rows[review._current()].name  # type: ignore[attr-defined]
            await press(pilot, "space")
            box = app.screen.query_one("#reason", TextBox)
            box.value = f"{name} is in hospital"
            await press(pilot, "enter")
            assert app.screen.query_one("#reason", TextBox).value == f"{name} is in hospital"
            error = str(app.screen.query_one("#reason-error", Static).render())
            assert "patient's name" in error
            box.value = "in hospital"
            await press(pilot, "enter")
            assert app.screen is review


class TestNotDueFooter:
    async def test_space_and_g_leave_the_footer_there(self, demo_url: str, tmp_path: Path) -> None:
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, "r", "enter")
            footer = shown(app)[-1]
            assert "space Untick/tick" in footer and "g Make letters" in footer
            await press(pilot, "n")
            footer = shown(app)[-1]
            assert "Untick" not in footer and "Make letters" not in footer, footer
            assert "n Not due" in footer
            await press(pilot, "n")
            assert "g Make letters" in shown(app)[-1]
