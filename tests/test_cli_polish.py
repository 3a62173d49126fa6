"""CLI details staff noticed: root --json, where the demo lives, plural counts, one
"no letters to print", the worksheet .docx on A4."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import docx
import pytest
from engine_seed import Seeder

from recall.cli import json_to_command, main
from recall.cli.letters_cmds import _show
from recall.services.letters import LettersResult
from recall.services.worksheet import WorksheetRow, write_worksheet_docx
from recall.store.db import Database


def test_root_json_works_as_the_readme_says(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _pid, nhs = Seeder(sqlite_db).patient(conditions=("HYP",))
    assert main(["--db", sqlite_db.url, "--json", "patient", nhs]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["nhs_number"] == nhs
    assert json_to_command(["--json", "--db", "x", "pca"]) == ["--db", "x", "pca", "--json"]
    assert json_to_command(["--json"]) == ["--json"]  # nothing to move it to


def test_demo_path_prints_where_the_demo_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--path"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("recall-demo.db") and not Path(out).exists()  # nothing built
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    assert main(["--db", url, "demo", "--path", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"url": url}


def test_letters_summary_counts_and_says_things_once(capsys: pytest.CaptureFixture[str]) -> None:
    result = LettersResult(
        batch_id=3,
        folder="/x",
        print_file=None,
        letters=[],
        sms_csv="/x/sms.csv",
        notify_csv="/x/n.csv",
        sms_message="/x/m.txt",
        pdf_message="no letters to print",
        counts={"sms": 1},
    )
    _show(result)
    out = capsys.readouterr().out
    assert "(1 patient)" in out and "(1 patients)" not in out
    assert out.count("no letters to print") == 1


def test_worksheet_docx_is_a4(tmp_path: Path) -> None:
    row = WorksheetRow(dt.date(2026, 11, 27), "XabEf", "LTC", "9434765919", "Smith", "Ann", None)
    path = write_worksheet_docx([row], tmp_path / "w.docx")
    section = docx.Document(str(path)).sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "(1 patient)" in text
