"""Several practices in one database: add, list, show, set and choosing the one to work on."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from recall.cli import main
from recall.services.errors import RecallError
from recall.services.practices import (
    PracticeChoiceError,
    add_practice,
    choose_practice,
    list_practices,
    practice_details,
    set_practice_value,
)
from recall.services.settings import get_settings
from recall.store.db import Database
from recall.store.practice_repo import get_or_create_practice


def _audit_actions(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars())


def test_single_practice_needs_no_choice(db: Database) -> None:
    first = choose_practice(db, None)
    assert first.ods_code == "DEFAULT"
    assert choose_practice(db, None).id == first.id
    assert [p.id for p in list_practices(db)] == [first.id]


def test_first_practice_added_takes_over_the_placeholder(db: Database) -> None:
    with db.write() as s:
        placeholder = get_or_create_practice(s).id
    added = add_practice(db, "b86001", name="Riverside Surgery", clinical_system="emis")
    assert (added.id, added.ods_code, added.clinical_system) == (placeholder, "B86001", "emis")
    assert choose_practice(db, None) == added
    with db.read() as s:
        settings = get_settings(s, added.id)
    assert (settings.practice_name, settings.clinical_system) == ("Riverside Surgery", "emis")
    assert "practice.add" in _audit_actions(db)


def test_several_practices_need_a_choice(db: Database) -> None:
    a = add_practice(db, "B86001", name="Riverside", clinical_system="systmone")
    b = add_practice(db, "A81002", name="Hillview", clinical_system="emis")
    assert [p.ods_code for p in list_practices(db)] == ["A81002", "B86001"]
    assert choose_practice(db, "b86001") == a
    assert choose_practice(db, "A81002") == b
    with pytest.raises(PracticeChoiceError) as info:
        choose_practice(db, None)
    assert [p.ods_code for p in info.value.practices] == ["A81002", "B86001"]
    lines = str(info.value).splitlines()
    assert "--practice" in lines[0]
    assert lines[1:] == ["  A81002 - Hillview - EMIS Web", "  B86001 - Riverside - SystmOne"]
    with pytest.raises(RecallError, match=r"no practice C99999 .*A81002 \(Hillview\)"):
        choose_practice(db, "C99999")


@pytest.mark.parametrize(
    ("ods", "system", "why"),
    [
        ("B8600", "emis", "not a practice ODS code"),
        ("86001B", "emis", "not a practice ODS code"),
        ("B86001", "vision", "clinical system must be one of"),
    ],
)
def test_bad_practice_is_refused_and_nothing_written(
    db: Database, ods: str, system: str, why: str
) -> None:
    with pytest.raises(RecallError, match=why):
        add_practice(db, ods, name="X", clinical_system=system)
    assert list_practices(db) == []


def test_duplicate_practice_is_refused(db: Database) -> None:
    add_practice(db, "B86001", name="Riverside", clinical_system="systmone")
    with pytest.raises(RecallError, match="already set up"):
        add_practice(db, "b86001", name="Again", clinical_system="emis")
    assert len(list_practices(db)) == 1


def test_settings_are_per_practice(db: Database) -> None:
    a = add_practice(db, "B86001", name="Riverside", clinical_system="systmone")
    add_practice(db, "A81002", name="Hillview", clinical_system="emis")
    details, changed = set_practice_value(db, "A81002", "interval", "21")
    assert changed == ["stage_interval_days"]
    assert details.settings["stage_interval_days"] == 21
    set_practice_value(db, "A81002", "address", "1 High St | Leeds | LS1 1AA")
    set_practice_value(db, "A81002", "sms", "yes")
    set_practice_value(db, "A81002", "name", "Hillview Medical Centre")
    shown = practice_details(db, "A81002")
    assert shown.practice.name == "Hillview Medical Centre"
    assert shown.settings["address"] == ["1 High St", "Leeds", "LS1 1AA"]
    assert shown.settings["sms_enabled"] is True
    other = practice_details(db, "B86001").settings
    assert other["stage_interval_days"] == 14 and other["sms_enabled"] is False
    with db.read() as s:
        assert get_settings(s, a.id).practice_name == "Riverside"


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("colour", "blue", "unknown practice setting"),
        ("interval", "soon", "whole number"),
        ("interval", "3", "at least"),
        ("system", "vision", "clinical system"),
        ("sms", "maybe", "yes or no"),
        ("recall-rule", "quarterly", "recall rule"),
    ],
)
def test_bad_setting_is_refused(db: Database, key: str, value: str, why: str) -> None:
    add_practice(db, "B86001", name="Riverside", clinical_system="systmone")
    before = practice_details(db, "B86001").settings
    with pytest.raises(RecallError, match=why):
        set_practice_value(db, "B86001", key, value)
    assert practice_details(db, "B86001").settings == before


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_practice_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "practice", "add", "B86001", "--name", "Riverside", "--system", "systmone",
        "--db", db_url,
    )  # fmt: skip
    assert code == 0 and "Practice added: B86001 - Riverside - SystmOne" in out
    code, out, _ = _run(
        capsys, "--db", db_url, "--json", "practice", "add", "A81002", "--name", "Hillview",
        "--system", "emis",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["practice"] == {
        "id": json.loads(out)["practice"]["id"],
        "ods_code": "A81002",
        "name": "Hillview",
        "clinical_system": "emis",
    }
    code, out, _ = _run(capsys, "practice", "list", "--db", db_url)
    assert out.splitlines() == ["A81002 - Hillview - EMIS Web", "B86001 - Riverside - SystmOne"]
    code, out, _ = _run(
        capsys, "practice", "set", "B86001", "phone", "01234 567890", "--db", db_url
    )
    assert code == 0 and "phone: 01234 567890" in out
    code, out, _ = _run(capsys, "practice", "show", "b86001", "--json", "--db", db_url)
    shown = json.loads(out)["practice"]
    assert (shown["ods_code"], shown["settings"]["phone"]) == ("B86001", "01234 567890")
    assert shown["settings"]["clinical_system"] == "systmone"
    code, out, _ = _run(capsys, "practice", "list", "--json", "--db", db_url)
    assert [p["ods_code"] for p in json.loads(out)["practices"]] == ["A81002", "B86001"]


def test_practice_command_errors_are_one_line(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        capsys, "practice", "add", "XX", "--name", "R", "--system", "emis", "--db", db_url
    )
    assert code == 2 and err.startswith("recall: 'XX' is not a practice ODS code")
    assert len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "practice", "show", "B86001", "--db", db_url)
    assert code == 2 and err.startswith("recall: no practice B86001")
    code, _, err = _run(capsys, "practice", "set", "B86001", "colour", "x", "--db", db_url)
    assert code == 2 and "unknown practice setting" in err
