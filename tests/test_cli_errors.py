"""The command line never shows a traceback: a plain line on stderr and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from recall.cli import main


def test_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["codes", "--db", "postgresql+psycopg://someone:secret@127.0.0.1:1/nowhere"])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("recall: database problem: cannot open the database")
    assert "secret" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_file_that_is_not_a_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("O'Brien & <Sons>, 943 476 5919\n" * 200)
    code = main(["codes", "--db", f"sqlite:///{bogus}"])
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err and "O'Brien" not in err and "9434765919" not in err
    assert len(err.strip().splitlines()) == 1


def test_usage_error_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "plan", "--stage", "4", "--month", "2026-11"]) == 2
    assert "Traceback" not in capsys.readouterr().err
