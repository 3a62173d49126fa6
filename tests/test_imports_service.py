"""Importing into a real database: all-or-nothing, re-import adds nothing, CLI contract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from recall.cli import main
from recall.services.errors import RecallError
from recall.services.imports import ImportRefused, import_file
from recall.store.db import Database
from recall.store.models import audit_log_t, event_t, import_run_t, patient_t, register_t

TODAY = dt.date(2026, 11, 27)

PATIENTS = (
    "nhs_number,family_name,given_name,date_of_birth,postcode,mobile,communication_needs\n"
    "943 476 5919,O'Brien,Siân,03/11/1950,LS1 4AP,07700900123,large_print\n"
    '9876543210,"Smith & <Jones>",Zoë,1960-01-02,SW1A 1AA,,\n'
    "4010232137,Ngata-Brown,José,1971-07-15,,,no_sms\n"
)
EVENTS = (
    "nhs_number,date,code,term\n"
    "9434765919,2026-05-01,XabEf,LTC first letter\n"
    "9434765919,01/05/2026,1110941000000107,QOF hypertension invite\n"
    "9876543210,20260601,Y1f8f,\n"
    "9876543210,20260601,Y1f8f,\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_patients_then_events_and_reimport_adds_nothing(db: Database, tmp_path: Path) -> None:
    p = import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    assert (p.rows_read, p.added, p.updated, p.skipped) == (3, 3, 0, 0)
    events = write(tmp_path, "e.csv", EVENTS)
    first = import_file(db, "events", events, today=TODAY)
    assert (first.rows_read, first.added, first.skipped) == (4, 3, 1)  # one duplicate row
    again = import_file(db, "events", events, today=TODAY)
    assert (again.added, again.skipped) == (0, 4)
    assert count(db, event_t) == 3
    p2 = import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    assert (p2.added, p2.updated, p2.skipped) == (0, 0, 3)
    assert count(db, patient_t) == 3
    with db.read() as s:
        names = set(s.execute(select(patient_t.c.family_name, patient_t.c.given_name)).all())
        runs = s.execute(select(import_run_t.c.kind, import_run_t.c.rows_added)).all()
        audit = [
            json.loads(d)
            for (d,) in s.execute(
                select(audit_log_t.c.details).where(audit_log_t.c.action == "import.events")
            )
        ]
    assert ("Smith & <Jones>", "Zoë") in names and ("O'Brien", "Siân") in names
    assert [r[1] for r in runs if r[0] == "events"] == [3, 0]
    assert [a["added"] for a in audit] == [3, 0]
    assert "9434765919" not in json.dumps(audit)


def test_patient_changes_are_updates_and_missing_columns_are_kept(
    db: Database, tmp_path: Path
) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    changed = (
        "nhs_number,family_name,given_name,date_of_birth\n"
        "9434765919,O'Brien-Walsh,Siân,1950-11-03\n"
        "9876543210,Smith & <Jones>,Zoë,1960-01-02\n"
    )
    r = import_file(db, "patients", write(tmp_path, "c.csv", changed), today=TODAY)
    assert (r.added, r.updated, r.skipped) == (0, 1, 1)
    with db.read() as s:
        row = s.execute(
            select(
                patient_t.c.family_name, patient_t.c.mobile, patient_t.c.communication_needs
            ).where(patient_t.c.nhs_number == "9434765919")
        ).one()
    assert tuple(row) == ("O'Brien-Walsh", "07700900123", "large_print")


def test_one_bad_row_writes_nothing(db: Database, tmp_path: Path) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    good = [f"9434765919,2026-05-{d:02d},XabEf,\n" for d in range(1, 6)]
    text = "nhs_number,date,code,term\n" + "".join(good) + "9434765919,2026-02-30,XabEh,\n"
    with pytest.raises(ImportRefused) as err:
        import_file(db, "events", write(tmp_path, "bad.csv", text), today=TODAY)
    assert "bad.csv line 7, column date: '2026-02-30' is not a real date" in str(err.value)
    assert count(db, event_t) == 0
    assert count(db, import_run_t) == 1  # only the patients run


def test_unknown_nhs_number_rejects_the_whole_registers_file(db: Database, tmp_path: Path) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    text = "nhs_number,condition,diagnosed_on\n9434765919,HYP,2010-01-01\n9990000018,AF,\n"
    with pytest.raises(
        ImportRefused, match=r"line 3, column nhs_number: '9990000018' is not a patient"
    ):
        import_file(db, "registers", write(tmp_path, "r.csv", text), today=TODAY)
    assert count(db, register_t) == 0


def test_registers_upsert(db: Database, tmp_path: Path) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    text = "nhs_number,condition,diagnosed_on\n9434765919,HYP,2010-01-01\n9434765919,AF,\n"
    r1 = import_file(db, "registers", write(tmp_path, "r.csv", text), today=TODAY)
    assert (r1.added, r1.updated, r1.skipped) == (2, 0, 0)
    text2 = "nhs_number,condition,diagnosed_on\n9434765919,HYP,2011-01-01\n9434765919,AF,\n"
    r2 = import_file(db, "registers", write(tmp_path, "r.csv", text2), today=TODAY)
    assert (r2.added, r2.updated, r2.skipped) == (0, 1, 1)
    assert count(db, register_t) == 2


def test_big_events_file_is_chunked_and_counted(db: Database, tmp_path: Path) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    start = dt.date(2020, 1, 1)
    lines = ["nhs_number,date,code"]
    for i in range(45_000):
        day = start + dt.timedelta(days=i % 2000)
        lines.append(f"{['9434765919', '9876543210', '4010232137'][i % 3]},{day},C{i % 7:04d}")
    seen: list[tuple[int, int]] = []
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    r = import_file(db, "events", path, today=TODAY, progress=lambda d, t: seen.append((d, t)))
    assert r.rows_read == 45_000 and r.added + r.skipped == 45_000
    assert count(db, event_t) == r.added
    assert len(seen) >= 3 and seen[-1] == (45_000, 45_000)
    assert all(d <= t for d, t in seen)


def test_missing_file_is_a_plain_error(db: Database, tmp_path: Path) -> None:
    with pytest.raises(RecallError, match=r"nope\.csv: file not found"):
        import_file(db, "events", tmp_path / "nope.csv")


# -- through the command line ------------------------------------------------------------


def test_cli_bad_row_at_line_7(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_db.url
    assert main(["import", "patients", str(write(tmp_path, "p.csv", PATIENTS)), "--db", url]) == 0
    rows = [f"9434765919,2026-0{m}-01,XabEf\n" for m in range(1, 6)]
    text = "nhs_number,date,code\n" + "".join(rows) + "9434765919,2026-06-01,XabEf,\n"
    text = text.replace("9434765919,2026-06-01", "9434765919,06/13/2026")
    before = count(sqlite_db, event_t)
    capsys.readouterr()
    code = main(["import", "events", str(write(tmp_path, "bad.csv", text)), "--db", url])
    err = capsys.readouterr().err
    assert code != 0
    first = err.splitlines()[0]
    assert "line 7" in first and "column date" in first and "06/13/2026" in first
    assert count(sqlite_db, event_t) == before == 0


def test_cli_json_and_emis_mapping(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_db.url
    emis_patients = (
        '"Last Run","Relative Date","03-Nov-2026"\n'
        '"Population Count","3"\n'
        '"NHS Number","Family Name","Given Name","Date of Birth","Postcode"\n'
        '"943 476 5919","D\'Souza","Renée","03-Nov-1950","LS1 4AP"\n'
    )
    path = write(tmp_path, "emis.csv", emis_patients)
    assert main(["import", "patients", str(path), "--mapping", "emis", "--db", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == 1 and out["mapping"] == "emis" and out["header_line"] == 3


def test_cli_unknown_mapping_and_kind(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "p.csv", PATIENTS)
    assert (
        main(["import", "patients", str(path), "--mapping", "vision", "--db", sqlite_db.url]) == 2
    )
    assert "unknown mapping 'vision'" in capsys.readouterr().err
    assert main(["import", "widgets", str(path), "--db", sqlite_db.url]) != 0


def test_cli_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(["init", "--db", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patients"] == 0 and (tmp_path / "new.db").exists()


def test_line_numbers_survive_multiline_cells_in_big_files(db: Database, tmp_path: Path) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    text = (
        "nhs_number,date,code,term\n"  # line 1
        "9434765919,2026-05-01,XabEf,plain\n"  # 2
        '9434765919,2026-05-02,XabEf,"two\nlines"\n'  # 3-4
        "9434765919,2026-05-01,XabEf,plain again\n"  # 5 (fast path: all values seen)
        "9434765919,2026-05-03,XabEf,\n"  # 6
        "9434765919,2026-05-04,Xab Ef,\n"  # 7: a local code with a space is fine
        "9434765919,2026-05-05,,\n"  # 8: empty code
    )
    with pytest.raises(ImportRefused, match=r"line 8, column code: is empty"):
        import_file(db, "events", write(tmp_path, "m.csv", text), today=TODAY)
    assert count(db, event_t) == 0


def test_emis_events_with_blank_nhs_rows(db: Database, tmp_path: Path) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    text = (
        '"Last Run","Relative Date","03-Nov-2026"\n'
        '"NHS Number","Effective Date","SNOMED Code","Term"\n'
        '"943 476 5919","03-Nov-2026","1110941000000107","QOF hypertension invite"\n'
        '"","10-Nov-2026","1110921000000100","QOF diabetes invite"\n'
        '"987 654 3210","10-Nov-2026","1110921000000100","QOF diabetes invite"\n'
    )
    r = import_file(db, "events", write(tmp_path, "emis.csv", text), "emis", today=TODAY)
    assert (r.rows_read, r.added, r.header_line) == (3, 3, 2)
    with db.read() as s:
        got = s.execute(
            select(patient_t.c.nhs_number, event_t.c.date)
            .join(event_t, event_t.c.patient_id == patient_t.c.id)
            .order_by(event_t.c.date, patient_t.c.nhs_number)
        ).all()
    assert [(n, d.isoformat()) for n, d in got] == [
        ("9434765919", "2026-11-03"),
        ("9434765919", "2026-11-10"),
        ("9876543210", "2026-11-10"),
    ]


def test_check_only_counts_and_writes_nothing(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_db.url
    path = str(write(tmp_path, "p.csv", PATIENTS))
    assert main(["import", "patients", path, "--check", "--json", "--db", url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and out["added"] == 3 and out["import_id"] is None
    assert count(sqlite_db, patient_t) == 0 and count(sqlite_db, import_run_t) == 0
    assert main(["import", "patients", path, "--db", url]) == 0
    assert count(sqlite_db, patient_t) == 3


def test_pcn_practice_column(db: Database, tmp_path: Path) -> None:
    """Rows go to the practice their `practice` column names; it must be set up first."""
    from recall.services.practices import add_practice
    from recall.store.models import practice_t

    text = (
        "nhs_number,family_name,given_name,date_of_birth,practice\n"
        "9434765919,A,B,1950-01-01,b82005\n"
        "9876543210,C,D,1960-01-01,Y01234\n"
        "4010232137,E,F,1970-01-01,not an ods!\n"
    )
    with pytest.raises(ImportRefused, match=r"line 2, column practice: 'B82005' is not a practice"):
        import_file(db, "patients", write(tmp_path, "pcn.csv", text), today=TODAY)
    add_practice(db, "B82005", name="One", clinical_system="systmone")
    add_practice(db, "Y01234", name="Two", clinical_system="emis")
    with pytest.raises(ImportRefused, match=r"line 4, column practice"):
        import_file(db, "patients", write(tmp_path, "pcn.csv", text), today=TODAY)
    good = text.replace("not an ods!", "Y01234")
    r = import_file(db, "patients", write(tmp_path, "pcn.csv", good), today=TODAY)
    assert r.added == 3
    with db.read() as s:
        rows = s.execute(
            select(patient_t.c.nhs_number, practice_t.c.ods_code)
            .join(practice_t, practice_t.c.id == patient_t.c.practice_id)
            .order_by(patient_t.c.nhs_number)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("4010232137", "Y01234"),
        ("9434765919", "B82005"),
        ("9876543210", "Y01234"),
    ]


def test_full_registers_import_resolves_those_left_out(db: Database, tmp_path: Path) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", PATIENTS), today=TODAY)
    first = "nhs_number,condition\n9434765919,HYP\n9876543210,HYP\n9876543210,DM\n4010232137,AST\n"
    import_file(db, "registers", write(tmp_path, "r1.csv", first), today=TODAY)
    # next month's HYP/DM export: 9876543210 has come off the HYP register
    second = "nhs_number,condition\n9434765919,HYP\n9876543210,DM\n"
    r = import_file(db, "registers", write(tmp_path, "r2.csv", second), today=TODAY, full=True)
    assert (r.resolved, r.added, r.skipped) == (1, 0, 2)

    def open_entries() -> set[tuple[str, str]]:
        with db.read() as s:
            rows = s.execute(
                select(patient_t.c.nhs_number, register_t.c.condition)
                .join(register_t, register_t.c.patient_id == patient_t.c.id)
                .where(register_t.c.resolved_on.is_(None))
            ).all()
        return {(n, c) for n, c in rows}

    # AST is not in the file, so its register is untouched
    assert open_entries() == {("9434765919", "HYP"), ("9876543210", "DM"), ("4010232137", "AST")}
    back = import_file(db, "registers", write(tmp_path, "r3.csv", first), today=TODAY, full=True)
    assert (back.updated, back.resolved) == (1, 0)
    assert ("9876543210", "HYP") in open_entries()
    with pytest.raises(RecallError, match="only for registers"):
        import_file(db, "events", write(tmp_path, "e.csv", EVENTS), today=TODAY, full=True)
