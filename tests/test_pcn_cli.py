"""A PCN hub month on the command line: a SystmOne and an EMIS practice in one database, each
planned, lettered and confirmed for stage 1; each coding worksheet carries only that practice's
patients, coded with its own clinical system's codes, and its files sit in its own folder."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pcn_support import ODS_A, ODS_B, build_pcn
from stress_support import MONTH

from recall.cli import main
from recall.store.db import Database

# EMIS ships without confirmed LTC stage codes: a practice keys in its own local codes (the
# demo does the same); these are the demo's, never SNOMED CT codes.
EMIS_LOCAL_STAGE_1 = "DEMOLTC1"
# letters are made today: the batch is sent today (a send date never precedes its letters)
TODAY = dt.date.today().isoformat()
NO_EMIS_STAGE_CODE = "the EMIS Web profile has no LTC stage code"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("{") else out), err


def _sheet(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _stage_one(
    capsys: pytest.CaptureFixture[str], url: str, ods: str, folder: Path
) -> tuple[int, Path]:
    """Plan and make the letters of a practice's stage-1 batch: its id and letters folder."""
    at = ("--db", url, "--practice", ods, "--json")
    code, plan, err = _run(
        capsys, "batch", "plan", "--stage", "1", "--month", MONTH,
        "--send-date", TODAY, *at,
    )  # fmt: skip
    assert code == 0, err
    batch = int(plan["batch"]["id"])
    code, letters, err = _run(capsys, "batch", "letters", str(batch), "--no-pdf", *at)
    assert code == 0, err
    return batch, Path(letters["print_file"]).parent


def test_pcn_month_keeps_each_practice_and_system_apart(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcn = build_pcn(db, tmp_path / "csv", size=6)
    batch_a, letters_a = _stage_one(capsys, db.url, ODS_A, tmp_path)
    # EMIS without stage codes: everyone left out saying why, as for a single EMIS practice
    code, plan_b, err = _run(
        capsys, "batch", "plan", "--stage", "1", "--month", MONTH, "--send-date",
        TODAY, "--json", "--db", db.url, "--practice", ODS_B,
    )  # fmt: skip
    assert code == 0, err
    assert plan_b["invitations"] == []
    assert all(NO_EMIS_STAGE_CODE in e["reason"] for e in plan_b["excluded"])
    assert len(plan_b["excluded"]) == len(pcn.files_b.nhs)
    for stage in (1, 2, 3):
        code, _, err = _run(
            capsys, "codes", "stage", str(stage), f"DEMOLTC{stage}", "--term",
            f"LTC invitation letter {stage} (local code)", "--db", db.url, "--practice", ODS_B,
        )  # fmt: skip
        assert code == 0, err
    batch_b, letters_b = _stage_one(capsys, db.url, ODS_B, tmp_path)
    assert batch_b == plan_b["batch"]["id"]  # the same batch, planned again
    # several practices: each practice's letters in a folder of its own
    assert letters_a.parent.parent.name == ODS_A and letters_a.name == f"batch-{batch_a}"
    assert letters_b.parent.parent.name == ODS_B and letters_b.name == f"batch-{batch_b}"

    sent = ("--sent-on", TODAY, "--json")
    code, done_a, err = _run(
        capsys, "batch", "confirm", str(batch_a), *sent, "--db", db.url, "--practice", ODS_A
    )
    assert code == 0, err

    code, done_b, err = _run(
        capsys, "batch", "confirm", str(batch_b), *sent, "--db", db.url, "--practice", ODS_B
    )
    assert code == 0, err

    sheets = {}
    for ods, batch, done in ((ODS_A, batch_a, done_a), (ODS_B, batch_b, done_b)):
        out = tmp_path / f"worksheet-{ods}.csv"
        code, _, err = _run(
            capsys, "export", "worksheet", str(batch), "--out", str(out),
            "--db", db.url, "--practice", ods,
        )  # fmt: skip
        assert code == 0, err
        sheets[ods] = _sheet(out)
        assert {c["nhs_number"] for c in done["codes"]} == {r["nhs_number"] for r in sheets[ods]}
    a_codes = {r["code"] for r in sheets[ODS_A]}
    b_codes = {r["code"] for r in sheets[ODS_B]}
    assert {r["nhs_number"] for r in sheets[ODS_A]} == set(pcn.files_a.nhs)
    assert {r["nhs_number"] for r in sheets[ODS_B]} == set(pcn.files_b.nhs)
    assert "XabEf" in a_codes and EMIS_LOCAL_STAGE_1 not in a_codes
    assert EMIS_LOCAL_STAGE_1 in b_codes and "XabEf" not in b_codes
    # the SystmOne practice's own stage code is untouched by the EMIS practice's setting
    code, report, _ = _run(capsys, "codes", "--json", "--db", db.url, "--practice", ODS_A)
    assert report["stage_codes"][0]["code"] == "XabEf"


def test_one_practice_keeps_todays_folders(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A single-practice database needs no --practice and its letters stay where they were."""
    from stress_support import seed, write_practice

    seed(db, write_practice(tmp_path / "csv", 3))
    code, plan, err = _run(
        capsys, "batch", "plan", "--stage", "1", "--month", MONTH,
        "--send-date", TODAY, "--json", "--db", db.url,
    )  # fmt: skip
    assert code == 0, err
    batch = plan["batch"]["id"]
    code, letters, err = _run(
        capsys, "batch", "letters", str(batch), "--no-pdf", "--json", "--db", db.url
    )
    assert code == 0, err
    folder = Path(letters["print_file"]).parent
    assert folder.name == f"batch-{batch}" and folder.parent.name == "letters"
    assert len(folder.parent.parent.name) > 6  # the database's own id, no practice folder


def test_templates_copy_per_practice(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a PCN database `letters copy --practice` fills that practice's own sub-folder, which
    its letters then read before the templates every practice shares."""
    from recall.services.practices import add_practice

    add_practice(db, ODS_A, name="Riverside", clinical_system="systmone")
    code, shared, err = _run(capsys, "letters", "copy", "--json", "--db", db.url)
    assert code == 0, err
    add_practice(db, ODS_B, name="Hillview", clinical_system="emis")
    code, own, err = _run(capsys, "letters", "copy", "--json", "--db", db.url, "--practice", ODS_B)
    assert code == 0, err
    assert Path(own["folder"]) == Path(shared["folder"]) / ODS_B
    assert own["copied"]
