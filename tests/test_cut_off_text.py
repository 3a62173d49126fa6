"""Nothing the user reads is cut mid-word at 80x24 or 120x40: file paths break after a "/",
and table columns are as wide as the longest real value (or the whole value is shown below)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from test_tui_support import app_for, press, settle
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable, Static

from recall.services.views.year_view import NEED_SECOND
from recall.store.db import Database
from recall.store.models import patient_t, register_t
from recall.tui.paths import wrap_text
from recall.tui.screens.letters import LettersScreen
from recall.tui.screens.patients import ORIGIN_WORDS, TIMELINE_COLUMNS, PatientScreen
from recall.tui.screens.run import ReviewScreen
from recall.tui.screens.year import YearCellScreen, _dates
from recall.tui.virtual_table import VirtualTable


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


def shown_text(widget: Widget) -> str:
    """A table's painted lines, or a Static's whole text (the screen wraps it)."""
    if isinstance(widget, Static):
        return " ".join(str(widget.content).split())
    return "\n".join(painted_lines(widget))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_review_list_names_whole_on_a_wide_screen_or_below(
    demo_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "r", "down", "enter")  # the 2nd letters: the longest names
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.review is not None
        table = screen.query_one(VirtualTable)
        rows = [screen.rows[int(k)] for k in table.keys]
        longest = max(rows, key=lambda r: len(r.name))
        assert len(longest.name) > 18  # longer than the list's usual Name column
        table.cursor_row = table.keys.index(str(longest.patient_id))
        await settle(pilot)
        detail = shown_text(screen.query_one("#row-detail", Static))
        assert longest.name in detail
        names = screen.review.condition_names
        assert all(names[c] in detail for c in longest.conditions)
        if size[0] >= 120:  # room to spare: every name and condition list whole in the list
            lines = painted_lines(table)
            visible = rows[round(table.scroll_offset.y) : round(table.scroll_offset.y) + 20]
            for r in visible:
                assert any(r.name in x and " ".join(r.conditions) in x for x in lines), r.name


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_patient_condition_names_whole(
    demo_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    nhs = _patient_with(demo_url, "NDH")
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await app.push_screen(PatientScreen(nhs))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PatientScreen) and screen.view is not None
        conds = screen.query_one("#conditions", DataTable)
        keys = list(screen.view.status)
        conds.move_cursor(row=keys.index("NDH"))
        await settle(pilot)
        name = "Non-diabetic hyperglycaemia"
        assert name in shown_text(screen.query_one("#condition-detail", Static))
        if size[0] >= 120:
            assert name in shown_text(conds)
    assert all(len(w) <= dict(TIMELINE_COLUMNS)["From"] for w in ORIGIN_WORDS.values())


def _patient_with(url: str, condition: str) -> str:
    """The NHS number of a demo patient on this register and on one that can be invited."""
    db = Database(url)
    try:
        with db.read() as session:
            ids = select(register_t.c.patient_id).where(register_t.c.condition == condition)
            nhs = session.execute(
                select(patient_t.c.nhs_number)
                .where(patient_t.c.id.in_(ids))
                .order_by(patient_t.c.id)
            ).scalar()
    finally:
        db.dispose()
    assert nhs is not None
    return str(nhs)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_year_list_dates_whole(demo_url: str, tmp_path: Path, size: tuple[int, int]) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await app.push_screen(YearCellScreen("AST", "Asthma", NEED_SECOND))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, YearCellScreen) and screen.patients
        dates = [_dates(p, NEED_SECOND) for p in screen.patients]
        longest = max(range(len(dates)), key=lambda i: len(dates[i]))
        assert len(dates[longest]) > 25  # "10 Oct, 15 Oct · 2nd from 17 Oct"
        table = screen.query_one(DataTable)
        table.move_cursor(row=longest)
        await settle(pilot)
        assert dates[longest] in shown_text(screen.query_one("#cell-detail", Static))
        if size[0] >= 120:
            assert dates[longest] in shown_text(table)
