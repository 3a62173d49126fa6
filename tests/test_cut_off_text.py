"""Nothing the user reads is cut mid-word at 80x24 or 120x40: file paths break after a "/",
and table columns are as wide as the longest real value (or the whole value is shown below)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_support import app_for, press, settle
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from recall.tui.paths import wrap_text
from recall.tui.screens.letters import LettersScreen


def painted_lines(widget: Widget) -> list[str]:
    """What the terminal shows for the whole widget, one string per screen line."""
    w, h = widget.size.width, widget.size.height
    return [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, w, h))]


def assert_breaks_whole(text: str, lines: list[str]) -> None:
    """Each screen line is a piece of `text` that ends at a space, a line end or after "/"."""
    pos = 0
    for shown in (s.strip() for s in lines):
        if not shown:
            continue
        pos = text.index(shown, pos)
        end = pos + len(shown)
        assert end == len(text) or text[end - 1] == "/" or text[end] in " \n", (shown, text)
        pos = end


def test_wrap_keeps_folder_names_whole() -> None:
    text = "Text message list (GOV.UK Notify): /home/reception/recall/letters/batch-12/sms.csv"
    assert wrap_text(text, 40) == [
        "Text message list (GOV.UK Notify):",
        "/home/reception/recall/letters/batch-12/",
        "sms.csv",
    ]
    assert wrap_text("a " + "x" * 12, 5) == ["a", "xxxxx", "xxxxx", "xx"]  # only when it must


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_letter_file_paths_break_after_a_slash(
    demo_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    out = tmp_path / "letters-for-riverside-demo-surgery-made-this-month" / "recall-output"
    app = app_for(demo_url, out)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "r", "enter", "g")
        screen = app.screen
        assert isinstance(screen, LettersScreen) and screen.result is not None
        result = screen.result
        widget = screen.query_one("#letters-result", Static)
        lines = painted_lines(widget)
        assert result.print_file is not None and len(str(result.print_file)) > size[0]
        text = str(widget.content)
        assert str(result.print_file) in text and str(result.folder) in text
        assert_breaks_whole(text, lines)
        assert "".join(s.strip() for s in lines).count(str(result.print_file).replace(" ", ""))
