"""Letters made on an earlier day and not recorded as sent are not made again by accident.

Reception makes and posts the letters on Monday, forgets to record them as sent, and on
Wednesday makes them again: that would date the letters Wednesday, and the send date may not
be before the day the letters were made, so Monday could no longer be recorded. The service
and the CLI refuse unless asked in so many words (`again` / `--again`); the audit log keeps
both days. Each service test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from engine_seed import HYP, STAGE, Seeder
from sqlalchemy import select

from recall.cli import main
from recall.services.batches import (
    as_made_note,
    confirm_batch,
    exclude_patient,
    get_batch,
    include_patient,
    plan_batch,
)
from recall.services.batches.codes import preview_codes
from recall.services.errors import Refused
from recall.services.letters import MadeOnEarlierDay, made_on_earlier_day, render_batch_letters
from recall.services.views.run_view import open_review
from recall.store.db import Database
from recall.store.models import audit_log_t, batch_t, invitation_t, recorded_code_t

D = dt.date
MON = D(2026, 11, 23)
WED = D(2026, 11, 25)


def made_on(db: Database, batch_id: int) -> dt.date | None:
    with db.read() as s:
        day: dt.date | None = s.execute(
            select(batch_t.c.letters_made_on).where(batch_t.c.id == batch_id)
        ).scalar_one()
        return day


def letters_audit(db: Database, batch_id: int) -> list[dict[str, Any]]:
    a = audit_log_t
    with db.read() as s:
        return [
            json.loads(d)
            for d in s.execute(
                select(a.c.details)
                .where(a.c.action == "batch.letters", a.c.batch_id == batch_id)
                .order_by(a.c.id)
            ).scalars()
        ]


def codes(db: Database, batch_id: int) -> set[tuple[str, dt.date]]:
    r = recorded_code_t
    with db.read() as s:
        rows = s.execute(select(r.c.code, r.c.date).where(r.c.batch_id == batch_id))
        return {(c, d) for c, d in rows}


def monday_letters(db: Database, tmp_path: Path) -> int:
    """One patient's 1st letter, planned and made on Monday."""
    seed = Seeder(db)
    seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", MON, today=MON)
    render_batch_letters(db, plan.batch.id, tmp_path / "out", MON, pdf=False)
    return plan.batch.id


def test_letters_made_on_an_earlier_day_are_not_made_again_unasked(
    db: Database, tmp_path: Path
) -> None:
    batch_id = monday_letters(db, tmp_path)
    letter = next((tmp_path / "out").glob("letter-*.docx"))
    before = letter.read_bytes()
    with pytest.raises(MadeOnEarlierDay) as info:
        render_batch_letters(db, batch_id, tmp_path / "out", WED, pdf=False)
    said = str(info.value)
    assert "2026-11-23" in said  # the day they were made
    assert f"recall batch confirm {batch_id} --sent-on" in said  # way on 1: record as sent
    assert "--again" in said  # way on 2: make them again, dated today
    assert isinstance(info.value, Refused)  # the CLI's exit code 2
    # nothing changed: the day, the files, the audit
    assert made_on(db, batch_id) == MON
    assert letter.read_bytes() == before
    assert len(letters_audit(db, batch_id)) == 1
    # the true send date can still be recorded
    done = confirm_batch(db, batch_id, MON, today=WED)
    assert done.batch.sent_on == MON
    assert codes(db, batch_id) == {(STAGE[1], MON), (HYP, MON)}


def test_made_again_on_purpose_they_are_dated_today_and_the_audit_keeps_both_days(
    db: Database, tmp_path: Path
) -> None:
    batch_id = monday_letters(db, tmp_path)
    again = render_batch_letters(db, batch_id, tmp_path / "out", WED, pdf=False, again=True)
    assert again.letters
    assert made_on(db, batch_id) == WED
    first, second = letters_audit(db, batch_id)
    assert first["made_on"] == "2026-11-23" and "previously_made_on" not in first
    assert second["made_on"] == "2026-11-25"
    assert second["previously_made_on"] == "2026-11-23"
    # the letters now exist from Wednesday: Monday can no longer be the send date
    with pytest.raises(Refused, match="before they existed"):
        confirm_batch(db, batch_id, MON, today=WED)
    assert codes(db, batch_id) == set()
    confirm_batch(db, batch_id, WED, today=WED)
    assert codes(db, batch_id) == {(STAGE[1], WED), (HYP, WED)}


def test_made_again_the_same_day_needs_no_asking(db: Database, tmp_path: Path) -> None:
    batch_id = monday_letters(db, tmp_path)
    render_batch_letters(db, batch_id, tmp_path / "out", MON, pdf=False)
    assert made_on(db, batch_id) == MON
    audits = letters_audit(db, batch_id)
    assert [a["made_on"] for a in audits] == ["2026-11-23", "2026-11-23"]
    assert all("previously_made_on" not in a for a in audits)


def test_which_batches_count_as_made_on_an_earlier_day(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", MON, today=MON)
    batch_id = plan.batch.id
    assert made_on_earlier_day(db, batch_id, WED) is None  # never made
    render_batch_letters(db, batch_id, tmp_path / "out", MON, pdf=False)
    assert made_on_earlier_day(db, batch_id, MON) is None  # made today
    assert made_on_earlier_day(db, batch_id, WED) == MON
    confirm_batch(db, batch_id, MON, today=WED)
    assert made_on_earlier_day(db, batch_id, WED) is None  # recorded as sent


def test_the_list_made_on_an_earlier_day_is_shown_as_it_was_made(
    db: Database, tmp_path: Path
) -> None:
    """Opening the list on Wednesday does not plan it again: a patient imported since would
    join a list whose letters went out without them, and be coded on Monday with no letter."""
    seed = Seeder(db)
    seed.patient(conditions=("HYP",), family="Able")
    first = open_review(db, 1, "2026-11", today=MON)
    render_batch_letters(db, first.batch.id, tmp_path / "out", MON, pdf=False)
    newcomer, _ = seed.patient(conditions=("HYP",), family="Baker")  # imported on Tuesday
    wednesday = open_review(db, 1, "2026-11", today=WED)
    assert wednesday.batch.id == first.batch.id
    assert newcomer not in {r.patient_id for r in wednesday.rows}
    assert wednesday.batch.planned_send_date == MON
    with db.read() as s:  # each letter keeps its number (confirm names letters to take out)
        numbers = s.execute(
            select(invitation_t.c.letter_number).where(invitation_t.c.batch_id == first.batch.id)
        ).scalars()
        assert list(numbers) == [1]
    confirm_batch(db, first.batch.id, MON, today=WED)
    assert newcomer not in {x.patient_id for x in get_batch(db, first.batch.id).invitations}
    # once recorded as sent, the list is planned as before: Baker gets a letter of their own
    later = open_review(db, 1, "2026-11", today=WED)
    assert later.batch.id != first.batch.id
    assert newcomer in {r.patient_id for r in later.rows}


def test_a_list_whose_letters_were_made_today_is_not_planned_again(
    db: Database, tmp_path: Path
) -> None:
    """Planning again would add a newcomer with no letter and lose the letters' numbers."""
    seed = Seeder(db)
    seed.patient(conditions=("HYP",), family="Able")
    first = open_review(db, 1, "2026-11", today=MON)
    render_batch_letters(db, first.batch.id, tmp_path / "out", MON, pdf=False)
    newcomer, _ = seed.patient(conditions=("HYP",), family="Baker")
    again = open_review(db, 1, "2026-11", today=MON)
    assert again.batch.id == first.batch.id
    assert newcomer not in {r.patient_id for r in again.rows}
    replanned = plan_batch(db, 1, "2026-11", MON, today=MON)  # `recall batch plan` too
    assert replanned.batch.id == first.batch.id
    assert [x.letter_number for x in replanned.invitations] == [1]
    assert "stays as they were made" in (as_made_note(replanned.batch) or "")
    result = confirm_batch(db, first.batch.id, MON, today=MON)
    assert {c.family_name for c in result.codes} == {"Able"}


def ticked_again_after_letters(db: Database, out: Path) -> tuple[int, int, int]:
    """Able and Baker due; Baker unticked, the letters made (Able's only), Baker ticked again.
    Returns (batch id, Able's id, Baker's id)."""
    seed = Seeder(db)
    able, _ = seed.patient(conditions=("HYP",), family="Able")
    baker, _ = seed.patient(conditions=("HYP",), family="Baker")
    plan = plan_batch(db, 1, "2026-11", MON, today=MON)
    exclude_patient(db, plan.batch.id, baker, "away until December")
    render_batch_letters(db, plan.batch.id, out, MON, pdf=False)
    include_patient(db, plan.batch.id, baker)
    return plan.batch.id, able, baker


def test_a_patient_ticked_again_after_the_letters_were_made_is_not_coded(
    db: Database, tmp_path: Path
) -> None:
    """Confirm codes only the patients the letters were made for; the rest are named."""
    batch_id, able, baker = ticked_again_after_letters(db, tmp_path / "out")
    rows, _missing = preview_codes(db, batch_id, MON)
    assert {r["patient_id"] for r in rows} == {able}
    result = confirm_batch(db, batch_id, MON, today=MON)
    assert {c.patient_id for c in result.codes} == {able}
    dropped = {e.patient_id: e.reason for e in result.dropped}
    assert "not in the letters or texts made on 23 November 2026" in dropped[baker]


def test_letters_made_again_after_ticking_again_include_the_patient(
    db: Database, tmp_path: Path
) -> None:
    batch_id, able, baker = ticked_again_after_letters(db, tmp_path / "out")
    render_batch_letters(db, batch_id, tmp_path / "out", MON, pdf=False)
    result = confirm_batch(db, batch_id, MON, today=MON)
    assert {c.patient_id for c in result.codes} == {able, baker}


# ----------------------------------------------------------------------------- the CLI


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_refuses_letters_made_on_an_earlier_day_until_again(
    sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recall batch letters N` reads the real clock, so the letters are made two days ago."""
    today = dt.date.today()
    earlier = today - dt.timedelta(days=2)
    seed = Seeder(sqlite_db)
    seed.patient(conditions=("HYP",), dob=D(1960, earlier.month, 3))
    plan = plan_batch(sqlite_db, 1, f"{earlier:%Y-%m}", earlier, today=earlier)
    bid = str(plan.batch.id)
    out = tmp_path / "out"
    render_batch_letters(sqlite_db, plan.batch.id, out, earlier, pdf=False)
    url = sqlite_db.url

    code, stdout, err = cli(capsys, "batch", "letters", bid, "--out", str(out), "--db", url)
    assert code == 2, err
    assert stdout == ""
    assert err.startswith("recall: ") and earlier.isoformat() in err
    assert f"recall batch confirm {bid} --sent-on {earlier.isoformat()}" in err
    assert f"recall batch letters {bid} --again" in err
    assert made_on(sqlite_db, plan.batch.id) == earlier

    code, stdout, err = cli(
        capsys, "batch", "letters", bid, "--out", str(out), "--json", "--db", url
    )
    assert code == 2
    assert earlier.isoformat() in json.loads(stdout)["error"]

    code, stdout, err = cli(
        capsys, "batch", "letters", bid, "--out", str(out), "--again", "--json", "--db", url
    )
    assert code == 0, err
    doc = json.loads(stdout)
    assert set(doc) >= {"print_file", "letters", "sms_csv"}
    assert len(doc["letters"]) == 1
    assert made_on(sqlite_db, plan.batch.id) == today
    last = letters_audit(sqlite_db, plan.batch.id)[-1]
    assert (last["previously_made_on"], last["made_on"]) == (earlier.isoformat(), today.isoformat())

    # made today now: running it again the same day needs no flag
    code, stdout, err = cli(capsys, "batch", "letters", bid, "--out", str(out), "--db", url)
    assert code == 0, err
    assert "letters written" in stdout


def test_cli_help_names_again(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _err = cli(capsys, "batch", "letters", "--help")
    assert code == 0
    assert "--again" in stdout
