"""Hostile import input stays inert (issue 13 items 5-7, issue 12 item 9).

Each test imports through the real service into a real database (SQLite and PostgreSQL) and
checks both the message (file, line, column) and that nothing at all was written.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from recall.cli import main
from recall.domain.nhs import InvalidNhsNumber, normalise_nhs_number
from recall.services.imports import ImportRefused, import_file
from recall.store.db import Database
from recall.store.models import audit_log_t, event_t, import_run_t, patient_t

TODAY = dt.date(2026, 11, 27)
HEADER = "nhs_number,family_name,given_name,date_of_birth\n"
FULL_WIDTH = "９４３４７６５９１９"
ARABIC_INDIC = "٩٤٣٤٧٦٥٩١٩"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def nothing_written(db: Database) -> None:
    assert count(db, patient_t) == 0
    assert count(db, import_run_t) == 0


# -- item 5: NHS numbers in other digit scripts ----------------------------------------


def test_nhs_numbers_in_other_digit_scripts_are_one_person(db: Database, tmp_path: Path) -> None:
    first = import_file(
        db, "patients", write(tmp_path, "a.csv", HEADER + "9434765919,A,B,1950-01-01\n")
    )
    assert first.added == 1
    for i, form in enumerate((FULL_WIDTH, ARABIC_INDIC, "９４３ ４７６ ５９１９")):
        again = import_file(
            db, "patients", write(tmp_path, f"b{i}.csv", HEADER + f"{form},A,B,1950-01-01\n")
        )
        assert (again.added, again.skipped) == (0, 1)
    assert count(db, patient_t) == 1
    with db.read() as s:
        assert s.scalar(select(patient_t.c.nhs_number)) == "9434765919"


def test_one_person_in_three_digit_scripts_in_one_file_is_refused(
    db: Database, tmp_path: Path
) -> None:
    text = HEADER + "".join(
        f"{n},A,B,1950-01-01\n" for n in ("9434765919", FULL_WIDTH, ARABIC_INDIC)
    )
    with pytest.raises(ImportRefused, match=r"line 3, column nhs_number.*appears twice"):
        import_file(db, "patients", write(tmp_path, "p.csv", text))
    assert count(db, patient_t) == 0


@pytest.mark.parametrize("raw", ["943476591\u00b9", "94347６5919\u200b", "943.476.5919"])
def test_other_non_ascii_in_an_nhs_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidNhsNumber):
        normalise_nhs_number(raw)


def test_cli_finds_a_patient_typed_in_full_width_digits(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_file(db, "patients", write(tmp_path, "a.csv", HEADER + "9434765919,A,B,1950-01-01\n"))
    assert main(["patient", FULL_WIDTH, "--json", "--db", db.url]) == 0
    assert json.loads(capsys.readouterr().out)["nhs_number"] == "9434765919"


# -- item 6: control characters --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Smith\x1b[2J", "U+001B (ESC)"),
        ("Smith\x00", "U+0000 (NUL)"),
        ("\x1b]52;c;ZXZpbA==\x07Smith", "U+001B (ESC)"),
        ("Smi\x01th", "U+0001"),
        ("Smith\x9b2J", "U+009B"),
        ("Smith\x7f", "U+007F (DEL)"),
        ("Smith\u202eevil", "U+202E"),
        ("Smith\nJones", "line break"),
    ],
)
def test_control_characters_refused_with_line_and_column(
    db: Database, tmp_path: Path, name: str, shown: str
) -> None:
    text = HEADER + "9876543210,Jones,Ann,1960-01-01\n" + f'9434765919,"{name}",B,1950-01-01\n'
    with pytest.raises(ImportRefused) as info:
        import_file(db, "patients", write(tmp_path, "p.csv", text))
    message = str(info.value)
    assert "p.csv line 3, column family_name" in message and shown in message
    assert "\x1b" not in message and "\x00" not in message  # shown escaped, never raw
    nothing_written(db)


def test_control_character_in_an_event_term_refused_on_the_fast_path(
    db: Database, tmp_path: Path
) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", HEADER + "9434765919,A,B,1950-01-01\n"))
    rows = "".join(f"9434765919,2026-05-{d:02d},XabEf,ok\n" for d in range(1, 20))
    text = "nhs_number,date,code,term\n" + rows + "9434765919,2026-05-20,XabEf,x\x00y\n"
    with pytest.raises(ImportRefused, match=r"line 21, column term.*U\+0000"):
        import_file(db, "events", write(tmp_path, "e.csv", text), today=TODAY)
    assert count(db, event_t) == 0


def test_a_line_break_inside_a_quoted_address_is_still_accepted(
    db: Database, tmp_path: Path
) -> None:
    text = "nhs_number,family_name,given_name,date_of_birth,address_line1\n"
    text += '9434765919,A,B,1950-01-01,"Flat 1\nThe Mill"\n'
    assert import_file(db, "patients", write(tmp_path, "p.csv", text)).added == 1


# -- item 7: strict quoting and duplicate headers -------------------------------------


def test_file_ending_inside_an_open_quote_is_refused_at_the_quote(
    db: Database, tmp_path: Path
) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", HEADER + "9434765919,A,B,1950-01-01\n"))
    text = (
        "nhs_number,date,code\n"
        "9434765919,2026-05-01,XabEh\n"
        '9434765919,2026-05-02,"XabEf,unterminated\n'
        "9434765919,2026-05-03,XabEj\n"
    )
    with pytest.raises(ImportRefused, match=r"e.csv line 3: a quote .* never closed"):
        import_file(db, "events", write(tmp_path, "e.csv", text), today=TODAY)
    assert count(db, event_t) == 0


def test_duplicate_header_names_refused_with_their_columns(db: Database, tmp_path: Path) -> None:
    text = "nhs_number,family_name,given_name,date_of_birth,Family Name\n"
    text += "9434765919,A,B,1950-01-01,Z\n"
    with pytest.raises(ImportRefused, match=r"more than once \(columns 2 and 5\)"):
        import_file(db, "patients", write(tmp_path, "p.csv", text))
    nothing_written(db)


# -- issue 12 item 9: codes mangled by Excel ---------------------------------------------


@pytest.mark.parametrize("code", ["1.11092E+15", "1.10992E+15", "1.1E-05", "1109921000000106.0"])
def test_excel_mangled_event_codes_refused_with_a_hint(
    db: Database, tmp_path: Path, code: str
) -> None:
    import_file(db, "patients", write(tmp_path, "p.csv", HEADER + "9434765919,A,B,1950-01-01\n"))
    text = f"nhs_number,date,code\n9434765919,2026-05-01,XabEf\n9434765919,2026-05-02,{code}\n"
    with pytest.raises(ImportRefused) as info:
        import_file(db, "events", write(tmp_path, "e.csv", text), today=TODAY)
    message = str(info.value)
    assert "e.csv line 3, column code" in message and "changed by Excel" in message
    assert "as text" in message
    assert count(db, event_t) == 0


# -- item 9: the audit log keeps no identifying free text and no forged lines ------------


def plan_empty_batch(db: Database, capsys: pytest.CaptureFixture[str]) -> int:
    args = ["batch", "plan", "--stage", "1", "--month", "2026-11", "--send-date", "2026-11-27"]
    assert main([*args, "--json", "--db", db.url]) == 0
    return int(json.loads(capsys.readouterr().out)["batch"]["id"])


def audit_rows(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        rows = s.execute(select(audit_log_t.c.operator, audit_log_t.c.details)).all()
    return [(str(op), str(details)) for op, details in rows]


@pytest.mark.parametrize(
    "reason",
    [
        "patient John Smith 943 476 5919 moved away",
        "NHS no 943-476-5919",
        "９４３４７６５９１９",
        "John Smith asked us to stop",
        "spoke to Mrs Smith",
        "smith JOHN",
    ],
)
def test_void_reason_naming_a_patient_is_refused(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], reason: str
) -> None:
    import_file(
        db, "patients", write(tmp_path, "p.csv", HEADER + "9434765919,Smith,John,1950-01-01\n")
    )
    batch = plan_empty_batch(db, capsys)
    before = audit_rows(db)
    code = main(["batch", "void", str(batch), "--reason", reason, "--db", db.url])
    err = capsys.readouterr().err
    assert code != 0 and "rephrase it without details that identify a patient" in err
    assert "Smith" not in err and "5919" not in err
    assert audit_rows(db) == before


def test_void_reason_without_identifying_details_is_kept(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a family name alone is too often an ordinary word to refuse
    import_file(
        db, "patients", write(tmp_path, "p.csv", HEADER + "9434765919,Day,Ann,1950-01-01\n")
    )
    batch = plan_empty_batch(db, capsys)
    assert (
        main(["batch", "void", str(batch), "--reason", "planned on the wrong day", "--db", db.url])
        == 0
    )
    assert any("planned on the wrong day" in details for _, details in audit_rows(db))


def test_import_file_name_is_kept_without_folder_or_nhs_number(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "Smith family"
    folder.mkdir()
    import_file(
        db, "patients", write(folder, "9434765919 list.csv", HEADER + "9434765919,A,B,1950-01-01\n")
    )
    ((_, details),) = audit_rows(db)
    assert '"file": "*** *** 5919 list.csv"' in details
    assert "Smith family" not in details and "9434765919" not in details


def test_operator_with_a_newline_cannot_forge_an_audit_line(
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forged = "alice\n#99  2026-01-01 00:00:00 UTC  bob  batch.void\x1b[2J"
    monkeypatch.setenv("RECALL_OPERATOR", forged)
    import_file(db, "patients", write(tmp_path, "p.csv", HEADER + "9434765919,A,B,1950-01-01\n"))
    ((operator, details),) = audit_rows(db)
    assert "\n" not in operator and "\x1b" not in operator and operator.startswith("alice ")
    assert '"os_login": "' in details  # the login is recorded beside the declared name
    monkeypatch.delenv("RECALL_OPERATOR")
    assert main(["audit", "--db", db.url]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and "\x1b" not in out
    assert "(login " in out


def test_audit_output_sanitises_rows_stored_before_the_fix(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.write() as s:
        s.execute(
            audit_log_t.insert().values(
                at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                operator="eve\n#1 forged\x1b]52;c;eA==\x07",
                action="batch.void",
                details='{"reason": "x\\n#2 forged \\u001b[2J"}',
            )
        )
    assert main(["audit", "--db", db.url]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and "\x1b" not in out and "\x07" not in out


def test_exclusion_reason_naming_a_patient_is_refused(db: Database) -> None:
    from test_letters_service import seed

    from recall.services.batches import exclude_patient, get_batch
    from recall.services.infra.free_text import IdentifyingText

    batch_id = seed(db)
    baker = next(i for i in get_batch(db, batch_id).invitations if i.family_name == "Baker")
    for reason in ("Bea Baker has moved", "Mrs Baker asked", "NHS 943 476 5846"):
        with pytest.raises(IdentifyingText, match="rephrase"):
            exclude_patient(db, batch_id, baker.patient_id, reason)
    plan = exclude_patient(db, batch_id, baker.patient_id, "has moved away")
    assert baker.patient_id not in {i.patient_id for i in plan.invitations}


@pytest.mark.parametrize("name", ["Oak\x00Surgery", "Oak\x1b[2J Surgery", "Oak\nSurgery"])
def test_practice_details_with_control_characters_are_refused(db: Database, name: str) -> None:
    from recall.services.errors import RecallError
    from recall.services.views.settings_view import load_settings_view, update_settings

    settings = load_settings_view(db).settings
    before = settings.practice_name
    settings.practice_name = name
    with pytest.raises(RecallError, match="practice name contains a control character"):
        update_settings(db, settings)
    assert load_settings_view(db).settings.practice_name == before


def test_patient_search_reads_full_width_digits(db: Database, tmp_path: Path) -> None:
    from recall.services.patients import search_patients

    import_file(db, "patients", write(tmp_path, "a.csv", HEADER + "9434765919,A,B,1950-01-01\n"))
    assert [p.nhs_number for p in search_patients(db, "９４３ ４７６")] == ["9434765919"]
    assert [p.nhs_number for p in search_patients(db, ARABIC_INDIC)] == ["9434765919"]
