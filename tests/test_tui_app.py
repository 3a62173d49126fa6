"""The terminal UI driven by Pilot over a real SQLite file: home, settings, code lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.worker import WorkerCancelled

from recall.services.settings import get_settings
from recall.tui.app import RecallApp, make_app
from recall.tui.widgets import TextBox

TODAY = dt.date(2026, 11, 27)


async def settle(pilot: Pilot[None]) -> None:
    """Wait for every worker and the messages they posted."""
    app = pilot.app
    for _ in range(3):
        with suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@asynccontextmanager
async def running(db_url: str) -> AsyncIterator[tuple[RecallApp, Pilot[None]]]:
    app = make_app(db_url, today=TODAY, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        yield app, pilot
    app.ctx.db.dispose()


def text_of(app: RecallApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_home_shows_the_year_and_countdown(tmp_path: Path) -> None:
    async with running(f"sqlite:///{tmp_path / 'r.db'}") as (app, _pilot):
        banner = text_of(app, "#home-today")
        assert "Friday 27 November 2026" in banner
        assert "2026/27" in banner
        assert "124 days" in banner
        assert "cannot be coded yet" in text_of(app, "#warnings")


async def test_settings_are_saved_from_the_form(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    async with running(url) as (app, pilot):
        await pilot.press("s")
        await settle(pilot)
        name = app.screen.query_one("#practice_name", TextBox)
        name.value = "Riverside Surgery"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Saved" in text_of(app, "#settings-status")
        await pilot.press("escape")  # nothing unsaved now: straight back home
        await settle(pilot)
        assert app.screen.id != "settings" and "Riverside Surgery" in app.sub_title
    with app.ctx.db.read() as s:  # the db was disposed, the engine reconnects
        assert get_settings(s).practice_name == "Riverside Surgery"


async def test_leaving_settings_with_changes_asks_first(tmp_path: Path) -> None:
    async with running(f"sqlite:///{tmp_path / 'r.db'}") as (app, pilot):
        await pilot.press("s")
        await settle(pilot)
        app.screen.query_one("#phone", TextBox).value = "01234 567890"
        await pilot.press("escape")
        await settle(pilot)
        assert "Leave this screen?" in str(app.screen.query_one(".dialog-title", Static).render())
        await pilot.press("n")  # stay: the typed phone number is still there
        await settle(pilot)
        assert app.screen.query_one("#phone", TextBox).value == "01234 567890"


async def test_code_lists_turn_on_a_provisional_condition_after_warning(tmp_path: Path) -> None:
    async with running(f"sqlite:///{tmp_path / 'r.db'}") as (app, pilot):
        await pilot.press("c")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count >= 10
        assert "To fix" in text_of(app, "#fix")  # first row (AF) is not verified
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        with app.ctx.db.read() as s:
            assert get_settings(s).conditions["AF"].enabled is True
