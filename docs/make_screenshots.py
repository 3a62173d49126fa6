"""Make the README's screenshots (SVG, 80x24) of the home, year and review screens on the demo.

python docs/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from contextlib import suppress
from pathlib import Path

from textual.worker import WorkerCancelled

from recall.services.demo import build_demo
from recall.services.infra.database import open_database
from recall.tui.app import make_app

TODAY = dt.date(2026, 11, 27)
DOCS = Path(__file__).resolve().parent


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        with suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        db = open_database(url)
        build_demo(db, patients=10_000, today=TODAY)
        db.dispose()
        app = make_app(
            url,
            today=TODAY,
            theme="textual-dark",
            cursor_blink=False,
            out_dir=Path(tmp) / "out",
            make_pdf=False,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(pilot)
            app.save_screenshot("home.svg", str(DOCS))
            for key in ("y", "right", "right"):
                await pilot.press(key)
                await _settle(pilot)
            app.save_screenshot("year.svg", str(DOCS))
            await pilot.press("escape")
            await _settle(pilot)
            for key in ("r", "enter"):
                await pilot.press(key)
                await _settle(pilot)
            app.save_screenshot("review.svg", str(DOCS))


if __name__ == "__main__":
    asyncio.run(main())
