"""PCA status on a real database: the report, the patient view, search, reconcile, worksheet."""

from __future__ import annotations

import csv
import datetime as dt
import stat
from pathlib import Path

import pytest
from conftest import pca_statuses
from docx import Document
from engine_seed import AST, AST_REVIEW, GENERIC, GENERIC_CTV3, HYP, STAGE, Seeder

from recall.services.batches import confirm_batch, plan_batch, void_batch
from recall.services.errors import NotFound
from recall.services.patients import mark_response, patient_view, search_patients
from recall.services.pca_report import pca_report
from recall.services.reconcile import missing_codes, reconcile
from recall.services.worksheet import (
    export_worksheet,
    safe_cell,
    worksheet_rows,
    write_worksheet_csv,
)
from recall.store.db import Database

D = dt.date
TODAY = D(2026, 11, 27)


def test_every_status_and_each_register_patient_once(db: Database) -> None:
    seed = Seeder(db)
    achieved, _ = seed.patient(conditions=("AST",), given="Achieved")
    eligible, _ = seed.patient(conditions=("AST",), given="Eligible")
    once, _ = seed.patient(conditions=("AST",), given="Once")
    invalid, _ = seed.patient(conditions=("AST",), given="Invalid")
    generic, _ = seed.patient(conditions=("AST",), given="Generic")
    none, _ = seed.patient(conditions=("AST",), given="None")
    seed.patient(conditions=("AST",), date_of_death=D(2026, 6, 1))  # not counted
    seed.patient(conditions=())
    seed.events(
        (achieved, D(2026, 5, 1), AST),
        (achieved, D(2026, 6, 1), AST),
        (achieved, D(2026, 7, 1), AST_REVIEW),  # care achieved beats two invites
        (eligible, D(2026, 5, 1), AST),
        (eligible, D(2026, 5, 8), AST),
        (once, D(2026, 10, 1), AST),
        (once, D(2026, 10, 20), GENERIC),  # a generic invite beside it does not help
        (invalid, D(2026, 9, 1), AST),
        (invalid, D(2026, 9, 5), AST),
        (generic, D(2026, 5, 1), GENERIC_CTV3),
        (generic, D(2026, 5, 20), GENERIC),  # generic-only: never pca_eligible
        (none, D(2026, 3, 31), AST),  # last QOF year
        (none, D(2025, 12, 1), AST),
    )
    report = pca_report(db, TODAY)
    ast = report.as_json()["conditions"]["AST"]
    assert ast["register"] == 6
    assert {
        k: ast[k]
        for k in (
            "achieved",
            "pca_eligible",
            "invited_once",
            "invalid_interval",
            "generic_only",
            "not_invited",
        )
    } == {
        "achieved": 1,
        "pca_eligible": 1,
        "invited_once": 1,
        "invalid_interval": 1,
        "generic_only": 1,
        "not_invited": 1,
    }
    assert ast["need_second_by_year_end"] == 2
    assert report.qof_year == "2026/27"
    statuses = pca_statuses(db, TODAY)
    assert statuses[(generic, "AST")].status == "generic_only"
    assert statuses[(achieved, "AST")].status == "achieved"
    assert statuses[(once, "AST")].earliest_second == D(2026, 10, 8)


def test_year_boundaries_31_march_and_1_april(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",))
    seed.events((pid, D(2027, 3, 24), HYP), (pid, D(2027, 3, 31), HYP), (pid, D(2027, 4, 1), HYP))
    assert pca_statuses(db, D(2027, 3, 30))[(pid, "HYP")].status == "invited_once"
    assert pca_statuses(db, D(2027, 3, 31))[(pid, "HYP")].status == "pca_eligible"
    # 1 April starts a new year: only that day's invite counts
    new = pca_statuses(db, D(2027, 4, 1))[(pid, "HYP")]
    assert new.status == "invited_once" and new.invitations == (D(2027, 4, 1),)


def test_29_february_counts_like_any_other_day(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",), dob=D(1952, 2, 29))
    seed.events((pid, D(2028, 2, 22), HYP), (pid, D(2028, 2, 29), HYP))
    res = pca_statuses(db, D(2028, 3, 31))[(pid, "HYP")]
    assert res.status == "pca_eligible"  # exactly 7 days (the tool warns when recording it)
    plan = plan_batch(db, 1, "2028-02", D(2028, 2, 29), today=D(2028, 2, 29))
    assert plan.invitations == []  # already invited this year
    seed2, _ = seed.patient(conditions=("DM",), dob=D(1960, 2, 29))
    plan = plan_batch(db, 1, "2028-02", D(2028, 2, 29), today=D(2028, 2, 29))
    assert [x.patient_id for x in plan.invitations] == [seed2]
    assert plan.invitations[0].age == 68
    done = confirm_batch(db, plan.batch.id, today=D(2028, 2, 29))
    assert {c.date for c in done.codes} == {D(2028, 2, 29)}


def test_voided_batch_codes_stop_counting(db: Database) -> None:
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP",))
    seed.events((pid, D(2026, 10, 1), HYP))
    plan = plan_batch(db, 2, "2026-11", D(2026, 11, 2), today=TODAY)
    confirm_batch(db, plan.batch.id, today=TODAY)
    assert pca_statuses(db, TODAY)[(pid, "HYP")].status == "pca_eligible"
    view = patient_view(db, nhs, TODAY)
    assert {e["origin"] for e in view.as_json()["events"]} == {"import", "send"}
    void_batch(db, plan.batch.id, "wrong list")
    assert pca_statuses(db, TODAY)[(pid, "HYP")].status == "invited_once"
    assert {e["origin"] for e in patient_view(db, nhs, TODAY).as_json()["events"]} == {"import"}


def test_patient_view_shape_and_unknown_patient(db: Database) -> None:
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP", "AST"), family="O'Brien", given="Siân")
    seed.events((pid, D(2026, 5, 1), STAGE[1]), (pid, D(2026, 6, 1), AST_REVIEW))
    doc = patient_view(db, nhs, TODAY).as_json()
    assert doc["nhs_number"] == nhs and doc["conditions"] == ["AST", "HYP"]
    assert doc["status"] == {"AST": "achieved", "HYP": "generic_only"}
    assert [e["date"] for e in doc["events"]] == ["2026-05-01", "2026-06-01"]
    assert all(e["origin"] == "import" for e in doc["events"])
    with pytest.raises(NotFound):
        patient_view(db, "9434765919", TODAY)


def test_search_by_name_nhs_and_dob(db: Database) -> None:
    seed = Seeder(db)
    a, nhs = seed.patient(family="O'Brien", given="Siân", dob=D(1950, 1, 31), conditions=("HYP",))
    seed.patient(family="Smith", given="John", dob=D(1960, 2, 1))
    assert [p.patient_id for p in search_patients(db, "o'brien")] == [a]
    assert [p.patient_id for p in search_patients(db, nhs[:3] + " " + nhs[3:6])] != []
    assert [p.patient_id for p in search_patients(db, nhs)] == [a]
    assert [p.patient_id for p in search_patients(db, "31/01/1950")] == [a]
    assert [p.patient_id for p in search_patients(db, "1950-01-31")] == [a]
    assert search_patients(db, "nobody") == []
    assert search_patients(db, "Sm Jo")[0].conditions == ()


def test_mark_booked_stops_invites(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",))
    assert mark_response(db, pid, "hyp", "booked", D(2026, 11, 1))
    assert not mark_response(db, pid, "HYP", "booked", D(2026, 11, 2))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    assert plan.invitations == [] and "booked" in plan.excluded[0].reason


def test_reconcile_and_worksheet(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    seed.settings(record_generic=True)
    a, nhs_a = seed.patient(conditions=("HYP",), family="=cmd|' /C calc'!A0", given="Eve")
    b, _ = seed.patient(conditions=("HYP",), family="Bloggs", given="Jo")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    confirm_batch(db, plan.batch.id, today=TODAY)
    rows = worksheet_rows(db, batch_id=plan.batch.id)
    assert len(rows) == 6
    files = export_worksheet(
        db, plan.batch.id, tmp_path / "out" / "ws.csv", docx=tmp_path / "out" / "ws.docx"
    )
    assert files.csv is not None and files.docx is not None
    assert stat.S_IMODE(files.csv.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.docx.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    with files.csv.open(newline="") as fh:
        got = list(csv.DictReader(fh))
    assert list(got[0]) == [
        "date",
        "code",
        "term",
        "nhs_number",
        "family_name",
        "given_name",
        "condition",
    ]
    assert [(r["date"], r["code"]) for r in got] == sorted((r["date"], r["code"]) for r in got)
    assert {r["family_name"] for r in got} == {"'=cmd|' /C calc'!A0", "Bloggs"}
    assert [g.count for g in files.groups] == [2, 2, 2]
    text = "\n".join(
        c.text for t in Document(str(files.docx)).tables for r in t.rows for c in r.cells
    )
    assert "Bloggs, Jo" in text
    # the clinical system now has patient a's three codes (the generic as its CTV3 twin)
    seed.events(
        (a, D(2026, 11, 2), STAGE[1]),
        (a, D(2026, 11, 2), HYP),
        (a, D(2026, 11, 2), "Y1f8f"),
        (b, D(2026, 11, 3), HYP),
    )
    result = reconcile(db)
    assert result.matched_now == 3 and len(result.missing) == 3
    assert {m.patient_id for m in missing_codes(db)} == {b}
    assert reconcile(db).matched_now == 0
    assert nhs_a not in {m.nhs_number for m in result.missing}


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_escaped(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell
    assert safe_cell("Smith") == "Smith"


def test_empty_worksheet_has_header(tmp_path: Path) -> None:
    path = write_worksheet_csv([], tmp_path / "w.csv")
    assert path.read_text().strip() == "date,code,term,nhs_number,family_name,given_name,condition"
