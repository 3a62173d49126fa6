"""The review list's "not invited" line wraps at 80 columns: every condition and the reason
are on screen (the demo's real line names eleven conditions)."""

from __future__ import annotations

from pathlib import Path

from test_tui_snapshots import SnapCompare, snap
from test_tui_support import app_for, press, settle
from textual.geometry import Region
from textual.widgets import Static

from recall.tui.screens.run import ReviewScreen


def painted(widget: Static) -> str:
    """The text the terminal shows for the widget (after wrapping or cutting)."""
    w, h = widget.region.width, widget.region.height
    return " ".join(strip.text.strip() for strip in widget.render_lines(Region(0, 0, w, h)))


async def test_not_invited_line_is_whole_at_80_columns(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "r", "enter")
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.review is not None
        keys = [w.split(":", 1)[0] for w in screen.review.warnings]
        assert len(keys) >= 10  # the longest real line: most conditions need code lists
        warn = screen.query_one("#review-warning", Static)
        shown = " ".join(painted(warn).split())
        assert f"Not invited for {', '.join(keys)}: cannot be coded yet" in shown
        assert shown.endswith("(see Code lists).") and "…" not in shown
        assert warn.region.height >= 2 and warn.region.bottom <= 24


def test_not_invited_line_snapshot(snap_compare: SnapCompare, demo_url: str) -> None:
    assert snap(snap_compare, demo_url, "review_warning", ["r", "enter"])
