"""Stored text reaches the terminal inert (issue 13 item 6): the CLI, its JSON, and the TUI.

The patient here is written straight into the database, as an older version (before imports
refused control characters) could have stored it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from sqlalchemy import insert
from test_tui_app import TODAY, running, settle
from textual.widgets import DataTable

from recall.cli import main
from recall.domain.text import find_control, printable
from recall.store.db import Database
from recall.store.models import patient_t
from recall.store.practice_repo import get_or_create_practice
from recall.tui.screens.patients import PatientScreen, PatientSearchScreen
from recall.tui.widgets import TextBox

HOSTILE = "\x1b[2J\x1b]52;c;ZXZpbA==\x07[bold red]Evil\x9b2J\u202e"
NHS = "9434765919"


def store_hostile_patient(db: Database) -> None:
    with db.write() as s:
        practice = get_or_create_practice(s).id
        s.execute(
            insert(patient_t).values(
                practice_id=practice,
                nhs_number=NHS,
                family_name=HOSTILE,
                given_name="A\r\nB",
                date_of_birth=dt.date(1950, 1, 1),
                address_line1="1 \x1b[31mRed\x1b[0m Street",
                communication_needs="",
            )
        )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2JEvil", "Evil"),
        ("\x1b]52;c;ZXZpbA==\x07x", "x"),
        ("a\x9b2Jb", "ab"),
        ("a\x00b\x07c", "a\ufffdb\ufffdc"),
        ("a\u202eb", "a\ufffdb"),
        ("one\ntwo\tthree", "one two three"),
        ("[bold red]x", "[bold red]x"),
    ],
)
def test_printable_drops_escape_sequences_and_shows_other_controls(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert find_control(printable(raw)) is None


def test_cli_output_is_inert_and_json_round_trips(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    store_hostile_patient(db)
    assert main(["patient", NHS, "--as-of", "2026-11-27", "--db", db.url]) == 0
    out = capsys.readouterr().out
    assert "Evil" in out and "[bold red]Evil" in out
    assert find_control(out, allow_breaks=True) is None and "A\r\nB" not in out
    assert main(["patient", NHS, "--as-of", "2026-11-27", "--json", "--db", db.url]) == 0
    raw = capsys.readouterr().out
    assert find_control(raw, allow_breaks=True) is None  # escaped as \u001b, \u009b, \u202e
    doc = json.loads(raw)
    assert doc["nhs_number"] == NHS
    if "family_name" in doc:  # the stored text comes back exactly through JSON
        assert doc["family_name"] == HOSTILE


async def test_tui_shows_escape_sequences_and_markup_inert(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = Database(url)
    store_hostile_patient(db)
    db.dispose()
    async with running(url) as (app, pilot):
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, PatientSearchScreen)
        app.screen.query_one("#search", TextBox).value = "evil"
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        name = table.get_row_at(0)[1]
        assert isinstance(name, Text) and not name.spans  # never read as markup
        assert "[bold red]Evil" in name.plain and find_control(name.plain) is None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientScreen)
        assert find_control(str(app.screen.title)) is None
        assert "[bold red]Evil" in str(app.screen.title)
        screenshot = app.export_screenshot()
        assert "\x1b" not in screenshot and "\x9b" not in screenshot
        assert TODAY.year == 2026


def test_worksheet_docx_opens_with_control_characters_in_stored_names(tmp_path: Path) -> None:
    import docx

    from recall.services.worksheet import WorksheetRow, write_worksheet_docx

    row = WorksheetRow(
        dt.date(2026, 11, 2), "XabEf", "LTC\x01 invite", NHS, "Sm\x01ith", "A\x00n", None
    )
    path = write_worksheet_docx([row], tmp_path / "w.docx")
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    cells = [c.text for t in docx.Document(str(path)).tables for r in t.rows for c in r.cells]
    assert "LTC\ufffd invite" in text and "Sm\ufffdith, A\ufffdn" in cells


@given(st.text())
def test_printable_never_lets_a_control_character_through(text: str) -> None:
    one_line = printable(text)
    assert find_control(one_line) is None
    lines = printable(text, keep_newlines=True)
    assert find_control(lines.replace("\n", "")) is None
