"""Snapshot tests: every screen at 80x24 on the demo practice, deterministic (fixed date,
theme and output folder, no cursor blink, workers awaited before the picture is taken).

Update after a deliberate change with: pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import app_for, settle
from textual.pilot import Pilot

from recall.tui.widgets import TextBox

SIZE = (80, 24)
SnapCompare = Callable[..., bool]


def out_dir(name: str) -> Path:
    """A fixed output folder per snapshot, so file paths on screen are the same every run."""
    path = Path("/tmp/recall-snapshots") / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def steps(
    *keys: str, values: dict[str, str] | None = None
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A run_before that sets input values, presses keys and waits for all work."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            if key.startswith("="):  # "=#id": fill that text box from `values`
                wid = key[1:]
                pilot.app.screen.query_one(wid, TextBox).value = (values or {})[wid]
            else:
                await pilot.press(key)
            await settle(pilot)
        await settle(pilot)

    return run_before


def snap(
    snap_compare: SnapCompare,
    url: str,
    name: str,
    keys: Sequence[str] = (),
    *,
    theme: str = "textual-dark",
    values: dict[str, str] | None = None,
) -> bool:
    app = app_for(url, out_dir(name))
    app.theme = theme
    return snap_compare(app, terminal_size=SIZE, run_before=steps(*keys, values=values))


class TestHome:
    def test_home_dark(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "home_dark")

    def test_home_light(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "home_light", theme="textual-light")

    def test_help(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "help", ["question_mark"])


class TestMonthlyRun:
    def test_choose(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "choose", ["r"])

    def test_review(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "review", ["r", "enter"])

    def test_review_light(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "review_light", ["r", "enter"], theme="textual-light")

    def test_untick_reason(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "untick", ["r", "enter", "space"])

    def test_letters_made(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "letters", ["r", "enter", "g"])

    def test_preview(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "preview", ["r", "enter", "g", "enter"])

    def test_confirm(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "confirm", ["r", "enter", "g", "enter", "enter"])

    def test_done(self, snap_compare: SnapCompare, demo_url: str) -> None:
        keys = ["r", "enter", "g", "enter", "enter", "y"]
        assert snap(snap_compare, demo_url, "done", keys)

    def test_choose_after_sending(self, snap_compare: SnapCompare, demo_url: str) -> None:
        """November's 1st letters sent: their line stays first, dimmed, "sent 27 Nov, ..."."""
        keys = ["r", "enter", "g", "enter", "enter", "y", "enter", "r", "up"]
        assert snap(snap_compare, demo_url, "choose_sent", keys)


class TestTidyUp:
    def test_plan(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "tidy_plan", ["b"])

    def test_group(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "tidy_group", ["b", "enter"])

    def test_applied(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "tidy_done", ["b", "a", "y"])


class TestPatients:
    def test_search(self, snap_compare: SnapCompare, demo_url: str) -> None:
        keys = ["f", "=#search", "enter"]
        assert snap(snap_compare, demo_url, "search", keys, values={"#search": "smith"})

    def test_patient(self, snap_compare: SnapCompare, demo_url: str) -> None:
        keys = ["f", "=#search", "enter", "enter"]
        assert snap(snap_compare, demo_url, "patient", keys, values={"#search": "carly smith"})


class TestImport:
    def test_bad_file(self, snap_compare: SnapCompare, demo_url: str, tmp_path: Path) -> None:
        folder = out_dir("import_file")
        folder.mkdir(parents=True)
        bad = folder / "patients.csv"
        bad.write_text(
            "nhs_number,family_name,given_name,date_of_birth\n"
            "9434765919,Smith,Ann,1950-11-03\n"
            "123,Jones,Bob,1960-02-01\n"
            "9434765919,Again,Ann,1950-11-03\n",
            encoding="utf-8",
        )
        keys = ["i", "=#path", "ctrl+s"]
        assert snap(snap_compare, demo_url, "import", keys, values={"#path": str(bad)})


class TestSettings:
    def test_settings(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "settings", ["s"])

    def test_code_lists(self, snap_compare: SnapCompare, demo_url: str) -> None:
        assert snap(snap_compare, demo_url, "codes", ["c"])


@pytest.fixture(autouse=True)
def _fixed_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECALL_OPERATOR", "snapshot")
