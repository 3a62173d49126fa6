"""The scriptable CLI contract (formats.md) for batches, pca, patient, invite, worksheet."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from engine_seed import HYP, STAGE, Seeder

from recall.cli import main
from recall.domain.nhs import format_nhs_number
from recall.store.db import Database

D = dt.date


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args))
    out = capsys.readouterr()
    try:
        doc = json.loads(out.out) if out.out.strip() else None
    except json.JSONDecodeError:
        doc = out.out
    return code, doc, out.err


@pytest.fixture
def practice(sqlite_db: Database) -> tuple[str, Seeder]:
    seed = Seeder(sqlite_db)
    return sqlite_db.url, seed


def test_plan_confirm_void_list_json(
    practice: tuple[str, Seeder], capsys: pytest.CaptureFixture[str]
) -> None:
    url, seed = practice
    _pid, nhs = seed.patient(conditions=("HYP", "DM"), dob=D(1950, 11, 3))
    _gone, gone_nhs = seed.patient(
        conditions=("HYP",), dob=D(1950, 11, 4), date_of_death=D(2026, 1, 1)
    )
    code, doc, _ = run(
        capsys,
        "batch",
        "plan",
        "--stage",
        "1",
        "--month",
        "2026-11",
        "--send-date",
        "2026-11-02",
        "--json",
        "--db",
        url,
    )
    assert code == 0
    assert set(doc["batch"]) >= {"id", "stage", "month", "status"}
    assert doc["batch"]["status"] == "planned" and doc["batch"]["month"] == "2026-11"
    assert doc["invitations"] == [
        {**doc["invitations"][0], "nhs_number": nhs, "conditions": ["DM", "HYP"]}
    ]
    assert [(e["nhs_number"], "died" in e["reason"]) for e in doc["excluded"]] == [(gone_nhs, True)]
    bid = str(doc["batch"]["id"])
    code, again, _ = run(
        capsys,
        "batch",
        "plan",
        "--stage",
        "1",
        "--month",
        "2026-11",
        "--send-date",
        "2026-11-02",
        "--json",
        "--db",
        url,
    )
    assert again["batch"]["id"] == doc["batch"]["id"]
    code, doc, _ = run(
        capsys, "batch", "confirm", bid, "--sent-on", "2026-11-02", "--json", "--db", url
    )
    assert code == 0
    assert doc["batch"]["status"] == "sent" and doc["batch"]["sent_on"] == "2026-11-02"
    got = {(c["nhs_number"], c["code"], c["date"], c["condition"]) for c in doc["codes"]}
    assert got == {
        (nhs, STAGE[1], "2026-11-02", None),
        (nhs, HYP, "2026-11-02", "HYP"),
        (nhs, "1110921000000100", "2026-11-02", "DM"),
    }
    code, _doc, err = run(capsys, "batch", "confirm", bid, "--db", url)
    assert code != 0 and "already confirmed" in err and err.count("\n") == 1
    code, doc, _ = run(capsys, "batch", "list", "--json", "--db", url)
    assert [b["status"] for b in doc["batches"]] == ["sent"]
    code, doc, err = run(
        capsys, "batch", "void", bid, "--reason", "not posted", "--json", "--db", url
    )
    assert code == 0 and doc["batch"]["status"] == "void"
    code, doc, _ = run(capsys, "patient", nhs, "--as-of", "2026-11-27", "--json", "--db", url)
    assert doc["status"] == {"DM": "not_invited", "HYP": "not_invited"}
    assert doc["events"] == []


def test_confirm_refusal_lists_patients_and_exclude_lets_rest_go(
    practice: tuple[str, Seeder], capsys: pytest.CaptureFixture[str]
) -> None:
    url, seed = practice
    seed.settings(stage_interval_days=7)
    early, early_nhs = seed.patient(conditions=("HYP",), given="Early")
    fine, fine_nhs = seed.patient(conditions=("HYP",), given="Fine")
    seed.events((early, D(2026, 11, 10), HYP), (fine, D(2026, 11, 1), HYP))
    code, doc, _ = run(
        capsys,
        "batch",
        "plan",
        "--stage",
        "2",
        "--month",
        "2026-11",
        "--send-date",
        "2026-11-20",
        "--json",
        "--db",
        url,
    )
    assert {i["nhs_number"] for i in doc["invitations"]} == {early_nhs, fine_nhs}
    bid = str(doc["batch"]["id"])
    code, _doc, err = run(capsys, "batch", "confirm", bid, "--sent-on", "2026-11-14", "--db", url)
    assert code != 0
    assert "at least 7 days apart" in err and format_nhs_number(early_nhs) in err
    assert format_nhs_number(fine_nhs) not in err
    assert "Nothing was recorded" in err
    code, doc, _ = run(
        capsys,
        "batch",
        "confirm",
        bid,
        "--sent-on",
        "2026-11-14",
        "--exclude",
        early_nhs,
        "--json",
        "--db",
        url,
    )
    assert code == 0
    assert {c["nhs_number"] for c in doc["codes"]} == {fine_nhs}
    assert doc["dropped"][0]["nhs_number"] == early_nhs


def test_pca_invite_worksheet_reconcile(
    practice: tuple[str, Seeder], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, seed = practice
    _pid, nhs = seed.patient(conditions=("HYP",), dob=D(1950, 5, 5))
    seed.patient(conditions=("HYP",), dob=D(1950, 5, 6))
    code, doc, _ = run(
        capsys, "invite", nhs, "--stage", "1", "--sent-on", "2026-11-02", "--json", "--db", url
    )
    assert code == 0 and doc["batch"]["kind"] == "adhoc"
    assert {c["code"] for c in doc["codes"]} == {STAGE[1], HYP}
    bid = str(doc["batch"]["id"])
    code, doc, _ = run(capsys, "pca", "--as-of", "2026-11-27", "--json", "--db", url)
    assert code == 0 and doc["as_of"] == "2026-11-27" and doc["qof_year"] == "2026/27"
    hyp = doc["conditions"]["HYP"]
    keys = (
        "achieved",
        "pca_eligible",
        "invited_once",
        "not_invited",
        "generic_only",
        "invalid_interval",
    )
    assert hyp["register"] == 2 == sum(hyp[k] for k in keys)
    assert hyp["invited_once"] == 1 and hyp["not_invited"] == 1
    out = tmp_path / "ws.csv"
    code, doc, _ = run(capsys, "export", "worksheet", bid, "--out", str(out), "--json", "--db", url)
    assert code == 0 and out.exists() and doc["rows"] == 2
    code, doc, _ = run(capsys, "reconcile", "--json", "--db", url)
    assert code == 0 and doc["matched_now"] == 0 and len(doc["missing"]) == 2
    code, _doc, err = run(capsys, "patient", "9434765919", "--db", url)
    assert code != 0 and err.startswith("recall: ") and err.count("\n") == 1
    code, text, _ = run(capsys, "pca", "--as-of", "2026-11-27", "--db", url)
    assert code == 0 and "HYP" in text
