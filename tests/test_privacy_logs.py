"""A whole monthly run through the CLI at DEBUG: the log holds commands and exit codes only."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from pathlib import Path

import pytest
from stress_support import GIVEN, write_practice

from recall.cli import main
from recall.services.infra.logging_setup import close_logging, default_log_dir
from recall.store.db import Database

# letters are made today, and a send date may not precede them
SEND = dt.date.today().isoformat()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out


def test_monthly_run_logs_no_names_or_nhs_numbers(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECALL_LOG_LEVEL", "DEBUG")
    practice = write_practice(tmp_path / "csv", 12)
    bad = tmp_path / "bad-patients.csv"
    bad.write_text(
        "nhs_number,family_name,given_name,date_of_birth\n"
        f"{practice.nhs[0][:9]}8,{practice.names[0]},Siân,1950-11-03\n",
        encoding="utf-8",
    )
    Database(db_url).dispose()
    db = ["--db", db_url]
    try:
        for kind, path in (
            ("patients", practice.patients),
            ("registers", practice.registers),
            ("events", practice.events),
        ):
            assert _run(capsys, "import", kind, str(path), *db)[0] == 0
        assert _run(capsys, "import", "patients", str(bad), *db)[0] == 2
        code, out = _run(
            capsys,
            "batch",
            "plan",
            "--stage",
            "1",
            "--month",
            "2026-11",
            "--send-date",
            SEND,
            "--json",
            *db,
        )
        assert code == 0
        batch = str(json.loads(out)["batch"]["id"])
        letters = tmp_path / "letters"
        code, _ = _run(capsys, "batch", "letters", batch, "--out", str(letters), "--no-pdf", *db)
        assert code == 0
        assert _run(capsys, "batch", "confirm", batch, "--sent-on", SEND, *db)[0] == 0
        assert _run(capsys, "batch", "confirm", batch, *db)[0] != 0  # already confirmed
        sheet = tmp_path / "worksheet.csv"
        assert _run(capsys, "export", "worksheet", batch, "--out", str(sheet), *db)[0] == 0
        assert _run(capsys, "patient", practice.nhs[1], *db)[0] == 0
        assert _run(capsys, "patient", practice.nhs[1][:9] + "0", *db)[0] != 0
        assert _run(capsys, "backfill", "plan", *db)[0] == 0
        assert _run(capsys, "pca", "--as-of", "2026-11-27", *db)[0] == 0
        assert _run(capsys, "audit", *db)[0] == 0
    finally:
        close_logging()

    folder = default_log_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.glob("recall.log*"))
    assert files and {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    log = "".join(f.read_text(encoding="utf-8") for f in files)
    assert "recall batch confirm: exit code 0" in log  # the log really was written
    assert "recall import patients: exit code 2" in log
    squeezed = re.sub(r"[ \-]", "", log)  # catches 943 476 5919 and 943-476-5919 too
    for nhs in practice.nhs:
        assert nhs not in squeezed, "an NHS number is in the log"
    for name in (*practice.names, *GIVEN):
        assert name not in log, f"patient name {name!r} in the log"
