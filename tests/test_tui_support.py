"""Shared helpers for the terminal UI tests: the app as tests build it, and worker waiting.

Imported by the test_tui_* modules (pytest collects nothing here); the demo database
fixtures (`demo_template`, `demo_url`) live in conftest.py.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from pathlib import Path

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from recall.tui.app import RecallApp, make_app

TODAY = dt.date(2026, 11, 27)


def app_for(url: str, out_dir: Path) -> RecallApp:
    """The app as the tests and snapshots build it: fixed date and theme, no blinking."""
    return make_app(
        url, today=TODAY, theme="textual-dark", cursor_blink=False, out_dir=out_dir, make_pdf=False
    )


async def settle(pilot: Pilot[None]) -> None:
    """Wait for every worker and for the messages they posted, then for animations."""
    for _ in range(4):
        with suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    with suppress(WorkerCancelled):
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press keys one at a time, letting each one's work finish."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
