"""Every command works on one practice: --practice (anywhere) or RECALL_PRACTICE chooses it,
and a command run for practice A can neither read nor change practice B's patients."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from pcn_support import ODS_A, ODS_B, build_pcn
from sqlalchemy import text
from stress_support import MONTH, TODAY, nhs_numbers, row_counts

from recall.cli import main
from recall.services.errors import Refused
from recall.services.imports import import_file
from recall.services.practices import PracticeChoiceError
from recall.store.db import Database


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _plan(capsys: pytest.CaptureFixture[str], url: str, ods: str) -> dict[str, object]:
    code, out, err = _run(
        capsys, "batch", "plan", "--stage", "1", "--month", MONTH,
        "--send-date", TODAY.isoformat(), "--json", "--db", url, "--practice", ods,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return doc


def test_several_practices_and_none_chosen_is_refused(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcn = build_pcn(db, tmp_path)
    for args in (["batch", "list"], ["patient", pcn.files_a.nhs[0]], ["pca"], ["reconcile"]):
        code, out, err = _run(capsys, *args, "--db", db.url)
        assert code == 2 and out == ""
        assert err.splitlines() == [
            "recall: this database holds 2 practices: choose one with --practice ODS "
            "(or RECALL_PRACTICE)",
            "  A81002 - Hillview Practice - EMIS Web",
            "  B86001 - Riverside Surgery - SystmOne",
        ]
    code, _, err = _run(capsys, "batch", "list", "--db", db.url, "--practice", "C12345")
    assert code == 2 and "no practice C12345" in err


def test_practice_is_chosen_before_or_after_the_command_or_from_the_environment(
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pcn = build_pcn(db, tmp_path)
    nhs_b = pcn.files_b.nhs[0]
    for args in (
        ["--practice", ODS_B, "patient", nhs_b, "--db", db.url],
        ["patient", nhs_b, "--db", db.url, "--practice", ODS_B.lower()],
        ["--json", "--practice=" + ODS_B, "patient", nhs_b, "--db", db.url],
    ):
        code, out, err = _run(capsys, *args)
        assert code == 0, err
    assert json.loads(out)["nhs_number"] == nhs_b
    monkeypatch.setenv("RECALL_PRACTICE", ODS_B)
    assert _run(capsys, "patient", nhs_b, "--db", db.url)[0] == 0
    code, _, err = _run(capsys, "patient", nhs_b, "--db", db.url, "--practice", ODS_A)
    assert code == 2 and err.startswith("recall: ") and len(err.splitlines()) == 1


def test_practice_a_cannot_read_or_change_practice_b(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcn = build_pcn(db, tmp_path, system_b="systmone")
    nhs_b = pcn.files_b.nhs[0]
    plan_b = _plan(capsys, db.url, ODS_B)
    batch_b = str(plan_b["batch"]["id"])  # type: ignore[index]
    plan_a = _plan(capsys, db.url, ODS_A)
    invited_a = {i["nhs_number"] for i in plan_a["invitations"]}  # type: ignore[attr-defined]
    assert invited_a == set(pcn.files_a.nhs)
    before = row_counts(db)
    as_a = ("--db", db.url, "--practice", ODS_A)
    refused = [
        ["patient", nhs_b],
        ["invite", nhs_b, "--stage", "1", "--sent-on", TODAY.isoformat()],
        ["respond", nhs_b, "HYP"],
        ["batch", "show", batch_b],
        ["batch", "confirm", batch_b, "--sent-on", TODAY.isoformat()],
        ["batch", "void", batch_b, "--reason", "test"],
        ["batch", "exclude", batch_b, nhs_b],
        ["export", "worksheet", batch_b, "--out", str(tmp_path / "w.csv")],
    ]
    for args in refused:
        code, _, err = _run(capsys, *args, *as_a)
        assert code == 2, args
        assert "no patient" in err or f"no batch {batch_b} for practice {ODS_A}" in err, err
    assert row_counts(db) == before
    assert not (tmp_path / "w.csv").exists()
    code, out, _ = _run(capsys, "batch", "list", "--json", *as_a)
    assert [b["id"] for b in json.loads(out)["batches"]] == [plan_a["batch"]["id"]]  # type: ignore[index]
    code, out, err = _run(capsys, "batch", "confirm", str(plan_a["batch"]["id"]), "--sent-on",  # type: ignore[index]
                          TODAY.isoformat(), "--json", *as_a)  # fmt: skip
    assert code == 0, err
    assert {c["nhs_number"] for c in json.loads(out)["codes"]} == set(pcn.files_a.nhs)
    code, out, _ = _run(capsys, "reconcile", "--json", *as_a)
    assert {m["nhs_number"] for m in json.loads(out)["missing"]} == set(pcn.files_a.nhs)
    code, out, _ = _run(capsys, "reconcile", "--json", "--db", db.url, "--practice", ODS_B)
    assert json.loads(out)["missing"] == []
    code, out, _ = _run(capsys, "backfill", "plan", "--json", "--from", "2026-04-01", *as_a)
    assert code == 0
    assert {i["nhs_number"] for i in json.loads(out)["items"]} <= set(pcn.files_a.nhs)
    with db.read() as s:
        status = s.execute(text("SELECT status FROM batch WHERE id = :i"), {"i": int(batch_b)})
        assert status.scalar_one() == "planned"


def _pcn_patients_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["nhs_number,family_name,given_name,date_of_birth,practice"]
    lines += [f"{nhs},Smith,Ann,1950-11-0{i + 1},{ods}" for i, (nhs, ods) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_routes_rows_by_their_practice(db: Database, tmp_path: Path) -> None:
    pcn = build_pcn(db, tmp_path)
    new_a, new_b, other = itertools.islice(nhs_numbers(999_300_000), 3)
    both = _pcn_patients_file(tmp_path / "pcn.csv", [(new_a, ODS_A), (new_b, ODS_B)])
    result = import_file(db, "patients", both, today=TODAY)
    assert result.added == 2
    with db.read() as s:
        rows = s.execute(
            text(
                "SELECT p.nhs_number, pr.ods_code FROM patient p JOIN practice pr "
                "ON pr.id = p.practice_id WHERE p.nhs_number IN (:a, :b) ORDER BY 1"
            ),
            {"a": new_a, "b": new_b},
        ).all()
    assert [tuple(r) for r in rows] == [(new_a, ODS_A), (new_b, ODS_B)]
    before = row_counts(db)
    stray = _pcn_patients_file(tmp_path / "stray.csv", [(other, ODS_A), (new_b, "C12345")])
    with pytest.raises(Refused) as info:
        import_file(db, "patients", stray, today=TODAY)
    problem = info.value.problems[0]
    assert (problem["line"], problem["column"], problem["value"]) == ("3", "practice", "C12345")
    assert "not a practice set up" in problem["message"]
    with pytest.raises(Refused, match="not the practice chosen"):
        import_file(db, "patients", both, today=TODAY, practice_id=pcn.a.id)
    with pytest.raises(PracticeChoiceError, match="choose one with --practice"):
        import_file(db, "registers", pcn.files_a.registers, today=TODAY)
    with pytest.raises(Refused, match="not a patient in the database"):
        import_file(db, "registers", pcn.files_a.registers, today=TODAY, practice_id=pcn.b.id)
    assert row_counts(db) == before


def test_audit_for_one_practice(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcn = build_pcn(db, tmp_path)
    code, out, err = _run(capsys, "audit", "--json", "--db", db.url, "--practice", ODS_B)
    assert code == 0, err
    entries = json.loads(out)["entries"]
    assert entries and {e["practice_id"] for e in entries} == {pcn.b.id}
    code, out, _ = _run(capsys, "audit", "--json", "--db", db.url)
    assert {e["practice_id"] for e in json.loads(out)["entries"]} == {pcn.a.id, pcn.b.id}
