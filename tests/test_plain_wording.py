"""Small words right: "1 letter" not "1 letters", one Help key in a footer, and the demo
says which database it replaces (and where the copy is) before its screens open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from engine_seed import Seeder
from test_tui_support import app_for, press, settle
from textual.widgets import Footer

from recall.cli import main
from recall.services.batches import plan_batch
from recall.store.db import Database
from recall.tui.screens.imports import ImportScreen

D = dt.date


def test_one_letter_is_singular(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Seeder(sqlite_db).patient(conditions=("HYP",))
    batch = plan_batch(sqlite_db, 1, "2026-11", D(2026, 11, 27), today=D(2026, 11, 27)).batch
    args = ["--db", sqlite_db.url, "batch", "letters", str(batch.id), "--no-pdf"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "(1 letter, 0 large print" in out, out
    assert "1 letters" not in out


async def test_import_footer_offers_help_once(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "i")
        assert isinstance(app.screen, ImportScreen)
        footer = app.screen.query_one(Footer)
        shown = [k.description for k in footer.query("FooterKey")]  # type: ignore[attr-defined]
        assert shown.count("Help") == 1, shown


def test_demo_says_which_database_it_replaces_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--patients", "150", "--no-tui"]) == 0
    first = capsys.readouterr().out
    assert "replaced" not in first
    assert main(["demo", "--pcn", "--patients", "300", "--no-tui"]) == 0
    out = capsys.readouterr().out.splitlines()
    said = [i for i, x in enumerate(out) if "is replaced; its previous contents are in" in x]
    assert said == [0], out  # before anything else, so the screens cannot hide it
    copy = Path(out[0].split("previous contents are in ")[1].rstrip("."))
    assert copy.exists()
    assert not any("previous contents were copied" in x for x in out)
