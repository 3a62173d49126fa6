"""Words the user needs are never cut: code terms on the confirm screen at 80 and 120
columns, the screen title (the practice name is left out rather than cut); the demo says
where its database is before the screens open; a print file without LibreOffice says why
there is no PDF instead of skipping it silently."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from engine_seed import Seeder
from test_tui_support import app_for, press, settle
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from recall.cli import main
from recall.services.batches import plan_batch
from recall.services.letters import render_batch_letters
from recall.services.views.run_view import codes_to_record
from recall.store.db import Database
from recall.tui.screens.confirm import ConfirmSentScreen
from recall.tui.screens.run import ReviewScreen


def painted(widget: Widget) -> str:
    """What the terminal shows for the whole widget, wrapped lines joined by spaces."""
    w, h = widget.size.width, widget.size.height
    lines = widget.render_lines(Region(0, 0, w, h))
    return " ".join(" ".join(strip.text.split()) for strip in lines if strip.text.strip())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_confirm_code_terms_are_whole(
    demo_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "r", "enter", "g", "enter", "enter")
        screen = app.screen
        assert isinstance(screen, ConfirmSentScreen)
        db = Database(demo_url)
        try:
            codes = codes_to_record(db, screen.batch_id, sent_on=screen.day)
        finally:
            db.dispose()
        terms = [c.term for c in codes if c.term]
        assert terms and any(len(t) > 40 for t in terms)  # long terms, e.g. "…third letter"
        shown = painted(screen.query_one("#codes", Static))
        solid = "".join(shown.split())  # a term may wrap at a space or after a hyphen
        for term in terms:
            assert "".join(term.split()) in solid, term
        assert "…" not in shown


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_title_is_whole_or_leaves_the_practice_out(
    demo_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "r", "enter")
        assert isinstance(app.screen, ReviewScreen)
        header = app.screen.query_one("HeaderTitle")
        shown = painted(header)
        assert "1st invitation letters for November 2026" in shown
        practice = "Riverside Demo Surgery"
        assert practice in shown or "Riverside" not in shown, shown  # never "Riverside Demo Sur…"
        if size[0] >= 120:
            assert practice in shown


def test_demo_says_where_its_database_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--patients", "150", "--no-tui", "--db", url]) == 0
    out = capsys.readouterr().out
    assert f"Database: {url}" in out


def test_no_libreoffice_says_why_there_is_no_pdf(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Seeder(sqlite_db).patient(conditions=("HYP",))
    today = dt.date(2026, 11, 27)
    batch = plan_batch(sqlite_db, 1, "2026-11", dt.date(2026, 11, 30), today=today).batch
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no soffice on this PATH
    result = render_batch_letters(sqlite_db, batch.id, tmp_path / "out", today=today, pdf=True)
    assert result.print_file is not None and result.pdf is None
    assert result.pdf_message == "PDF skipped: LibreOffice (soffice) is not installed"
