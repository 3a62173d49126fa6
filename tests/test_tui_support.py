"""Shared helpers for the terminal UI tests: a demo practice database and worker waiting.

Imported by the test_tui_* modules (pytest collects nothing here).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from recall.services.demo import build_demo
from recall.store.db import Database
from recall.tui.app import RecallApp, make_app

TODAY = dt.date(2026, 11, 27)
DEMO_PATIENTS = 2000


@pytest.fixture(scope="session", name="demo_template")
def demo_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo practice per test session (2,000 patients, as of 2026-11-27), copied per test."""
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.db"
    db = Database(f"sqlite:///{path}")
    build_demo(db, patients=DEMO_PATIENTS, today=TODAY, operator="test-operator")
    db.dispose()
    return path


@pytest.fixture(name="demo_url")
def demo_url_fixture(demo_template: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the demo database for one test (a real SQLite file)."""
    target = tmp_path / "recall.db"
    shutil.copyfile(demo_template, target)
    target.chmod(0o600)
    yield f"sqlite:///{target}"


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
