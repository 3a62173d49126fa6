"""`render_batch_letters` and the CLI on a real database: files, order, SMS, refusals, modes."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlalchemy import insert, select

from recall.cli import main
from recall.letters.check import docx_text
from recall.outputs import MANIFEST
from recall.services.batches import confirm_batch, get_batch, plan_batch
from recall.services.errors import NotFound, Refused
from recall.services.letters import (
    copy_templates,
    find_soffice,
    franking_key,
    preview_letter,
    render_batch_letters,
)
from recall.services.settings import get_settings, save_settings
from recall.store.db import Database
from recall.store.models import audit_log_t, batch_t, patient_t, register_t
from recall.store.practice_repo import get_or_create_practice

D = dt.date
TODAY = D(2026, 11, 27)
SEND = D(2026, 11, 30)

PATIENTS: list[dict[str, Any]] = [
    # Deliberately out of postcode order; the print file must be in postcode order.
    dict(
        nhs_number="9434765919",
        given_name="Zoë",
        family_name="O'Brien & <Sons>",
        title="Mrs",
        address_line1="10 Mill Lane",
        address_line2="Leeds",
        postcode="LS9 7TF",
        communication_needs="large_print",
        conditions=("HYP", "DM"),
    ),
    dict(
        nhs_number="9434765870",
        given_name="Arthur",
        family_name="Able",
        address_line1="1 High Street",
        postcode="LS1 4AP",
        communication_needs="easy_read;interpreter:Polish",
        conditions=("AST",),
    ),
    dict(
        nhs_number="9434765846",
        given_name="Bea",
        family_name="Baker",
        address_line1="2 Low Road",
        postcode="BD1 1AA",
        mobile="07700 900123",
        communication_needs="",
        conditions=("COPD",),
    ),
    dict(
        nhs_number="9434765838",
        given_name="Cal",
        family_name="Cole",
        address_line1="3 Side Street",
        postcode="LS2 8BB",
        mobile="07700 900456",
        communication_needs="no_sms",
        conditions=("DM",),
    ),
    dict(
        nhs_number="9434765811",
        given_name="Dee",
        family_name="Dunn",
        address_line1="4 Back Lane",
        postcode="LS3 1CC",
        communication_needs="no_letter",
        conditions=("HYP",),
    ),
]
PLAIN = {"HYP": "High blood pressure", "DM": "Diabetes", "AST": "Asthma", "COPD": "COPD"}


def seed(db: Database, *, sms: bool = True) -> int:
    with db.write() as s:
        pid = get_or_create_practice(s).id
        assert pid is not None
        st = get_settings(s, pid)
        st.practice_name = "Oak & Ash Surgery"
        st.address = ["1 Surgery Road", "Leeds"]
        st.phone = "0113 496 0000"
        st.booking_url = "https://oak.example.nhs.uk/book"
        st.sms_enabled = sms
        save_settings(s, st, operator="test", practice_id=pid)
        for p in PATIENTS:
            row = {k: v for k, v in p.items() if k != "conditions"}
            res: Any = s.execute(
                insert(patient_t).values(practice_id=pid, date_of_birth=D(1950, 11, 3), **row)
            )
            for cond in p["conditions"]:
                s.execute(
                    insert(register_t).values(
                        patient_id=res.inserted_primary_key[0], condition=cond
                    )
                )
    plan = plan_batch(db, 1, "2026-11", SEND, today=TODAY)
    # Dunn asked for no letters and has no mobile: nothing can be sent, so nothing is coded;
    # the batch lists her to contact by phone.
    assert len(plan.invitations) == len(PATIENTS) - 1, plan.excluded
    assert [e.family_name for e in plan.excluded] == ["Dunn"]
    assert "contact by phone" in plan.excluded[0].reason
    return plan.batch.id


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _text(path: Path | str) -> str:
    return "\n".join(docx_text(docx.Document(str(path))))


def test_batch_letters_print_file_singles_and_sms(db: Database, tmp_path: Path) -> None:
    batch_id = seed(db)
    out = tmp_path / "out" / "batch"
    old_umask = os.umask(0o022)
    try:
        result = render_batch_letters(db, batch_id, out, today=TODAY, pdf=False)
    finally:
        os.umask(old_umask)
    # Letters: everyone except the SMS patient (Baker) and the no_letter patient (Dunn).
    assert result.counts == {"letters": 3, "large_print": 1, "easy_read": 1, "sms": 1, "other": 0}
    assert len(result.letters) == 3
    assert result.print_file is not None
    # Folder 0700 (the parent we created too), files 0600, whatever the umask.
    assert _mode(out) == 0o700 and _mode(out.parent) == 0o700
    for f in out.iterdir():
        assert _mode(f) == 0o600, f
    # Single letters, in postcode order: LS1 (Able), LS2 (Cole), LS9 (O'Brien).
    expected = [
        ("Arthur Able", ("AST",), "It is time for your yearly health check"),  # easy read
        ("Cal Cole", ("DM",), "Time for your yearly health review"),
        ("Zoë O'Brien & <Sons>", ("HYP", "DM"), "Time for your yearly health review"),
    ]
    for path, (name, conds, wording) in zip(result.letters, expected, strict=True):
        text = _text(path)
        assert name in text and wording in text
        assert all(PLAIN[c] in text for c in conds)
        assert "30 November 2026" in text
    # The print file holds all three, in the same order, one section each.
    doc = docx.Document(result.print_file)
    assert len(doc.sections) == 3
    text = "\n".join(docx_text(doc))
    at = [text.index(name) for name, _c, _w in expected]
    assert at == sorted(at)
    assert "It is time for your yearly health check" in text  # easy read (Able)
    assert "We can get someone to help you in Polish" in text
    assert text.count("Time for your yearly health review") == 2
    # Large print letter: every run at least 20 pt.
    lp = docx.Document(result.letters[2])
    sizes = [
        r.font.size.pt for p in lp.paragraphs for r in p.runs if r.text.strip() and r.font.size
    ]
    assert sizes and min(sizes) >= 20
    # SMS: Accurx layout, only the patient with a mobile and no no_sms need.
    assert result.sms_csv is not None
    with open(result.sms_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["NHS Number", "Date of Birth", "Telecom Number", "First Name"],
        ["9434765846", "03/11/1950", "07700900123", "Bea"],
    ]
    assert result.notify_csv is not None and result.sms_message is not None
    message = Path(result.sms_message).read_text(encoding="utf-8").strip()
    assert "long-term condition review" in message and "0113 496 0000" in message
    assert len(message) <= 306
    assert result.pdf is None and result.pdf_message
    assert not any("Settings" in n for n in result.notes)
    assert result.contact_otherwise == []
    dunn = next(e for e in get_batch(db, batch_id).excluded if e.family_name == "Dunn")
    assert dunn.channel == "phone"
    # Recorded on the batch and audited without names or NHS numbers.
    with db.read() as s:
        assert s.scalar(select(batch_t.c.letters_dir).where(batch_t.c.id == batch_id)) == str(out)
        audit = s.execute(
            select(audit_log_t.c.details).where(
                audit_log_t.c.action == "batch.letters", audit_log_t.c.batch_id == batch_id
            )
        ).scalar_one()
    details = json.loads(audit)
    assert details["letters"] == 3 and details["sms"] == 1
    for p in PATIENTS:
        assert p["nhs_number"] not in audit and p["family_name"] not in audit


def test_rerun_rewrites_the_same_files(db: Database, tmp_path: Path) -> None:
    batch_id = seed(db)
    first = render_batch_letters(db, batch_id, tmp_path / "o", pdf=False)
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir() if p.name != MANIFEST}
    (tmp_path / "o" / "letter-0099-12345.docx").write_bytes(b"not recall's")
    second = render_batch_letters(db, batch_id, tmp_path / "o", pdf=False)
    after = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir() if p.name != MANIFEST}
    assert first.letters == second.letters and first.print_file == second.print_file
    # same names, same bytes; a file recall did not write is left alone
    assert after.pop("letter-0099-12345.docx") == b"not recall's"
    assert before == after


def test_broken_template_refuses_the_batch_with_its_line(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id = seed(db, sms=False)
    practice_dir = tmp_path / "templates"
    practice_dir.mkdir()
    d = docx.Document()
    d.add_paragraph("Dear {{ patient.first_name }},")
    d.add_paragraph("Your review is due.")
    d.add_paragraph("Please bring {{ c.bring for c in conditions }}")
    d.save(str(practice_dir / "stage1.docx"))
    monkeypatch.setenv("RECALL_TEMPLATES_DIR", str(practice_dir))
    out = tmp_path / "o"
    with pytest.raises(Refused, match=r"stage1\.docx line 3"):
        render_batch_letters(db, batch_id, out, pdf=False)
    assert not out.exists()  # nothing written
    # An unknown field is refused the same way, before anything is written.
    d = docx.Document()
    d.add_paragraph("Dear {{ patient.frist_name }},")
    d.save(str(practice_dir / "stage1.docx"))
    with pytest.raises(Refused, match=r"line 1: unknown field 'patient.frist_name'"):
        render_batch_letters(db, batch_id, out, pdf=False)
    assert not out.exists()


def test_without_sms_everyone_with_a_letter_channel_gets_a_letter(
    db: Database, tmp_path: Path
) -> None:
    batch_id = seed(db, sms=False)
    with db.write() as s:
        st = get_settings(s)
        st.phone = ""
        save_settings(s, st, operator="test")
    result = render_batch_letters(db, batch_id, tmp_path / "o", pdf=False)
    assert "the practice phone number for the letterhead is not set (Settings)" in result.notes
    assert result.sms_csv is None
    # Dunn asked for no letters and has no mobile: on the phone list, not printed.
    names = [_text(p) for p in result.letters]
    assert len(names) == 4
    assert not any("Dunn" in t for t in names)
    assert any("Bea Baker" in t for t in names)


def test_cli_batch_letters_json_and_check(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = seed(db)
    out = tmp_path / "cli"
    code = main(
        ["batch", "letters", str(batch_id), "--out", str(out), "--duplex", "--json", "--db", db.url]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert {"print_file", "letters", "sms_csv"} <= set(doc)
    assert Path(doc["print_file"]).is_file() and len(doc["letters"]) == 3
    assert Path(doc["sms_csv"]).is_file()
    if find_soffice() is None:
        assert doc["pdf"] is None and "not installed" in doc["pdf_message"]
    else:
        pdf = Path(doc["pdf"])
        assert pdf.read_bytes().startswith(b"%PDF") and _mode(pdf) == 0o600

    assert main(["letters", "check", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)["templates"]
    assert len(reports) == 10 and all(r["ok"] for r in reports)

    bad = tmp_path / "bad.docx"
    d = docx.Document()
    d.add_paragraph("fine")
    d.add_paragraph("{% if letter.is_last %}")
    d.save(str(bad))
    assert main(["letters", "check", str(bad)]) != 0
    captured = capsys.readouterr()
    assert "line 2" in captured.out and "problems" in captured.err


def test_void_batch_is_refused(db: Database, tmp_path: Path) -> None:
    from recall.services.batches import void_batch

    batch_id = seed(db)
    void_batch(db, batch_id, "mistake")
    with pytest.raises(Refused, match="void"):
        render_batch_letters(db, batch_id, tmp_path / "o", pdf=False)


def test_franking_order_sorts_districts_by_number() -> None:
    codes = ["LS10 1AA", "", "LS9 7TF", "BD1 1AA", "ls2 8bb", "weird", "L1 8JQ", "LS1A 1AA"]
    ordered = sorted(codes, key=franking_key)
    assert ordered == [
        "BD1 1AA",
        "L1 8JQ",
        "LS1A 1AA",
        "ls2 8bb",
        "LS9 7TF",
        "LS10 1AA",
        "weird",
        "",
    ]


def test_preview_shows_one_letter_as_text(db: Database) -> None:
    batch_id = seed(db)
    first = preview_letter(db, batch_id)
    assert first is not None and first.position == 1 and first.total == 3
    assert first.variant == "easy_read" and "Dear Arthur Able" in first.lines
    obrien = next(i for i in get_batch(db, batch_id).invitations if i.given_name == "Zoë")
    shown = preview_letter(db, batch_id, obrien.invitation_id)
    assert shown is not None and shown.position == 3 and shown.variant == "large_print"
    assert "Dear Mrs O'Brien & <Sons>," in shown.lines
    baker = next(i for i in get_batch(db, batch_id).invitations if i.given_name == "Bea")
    with pytest.raises(NotFound):
        preview_letter(db, batch_id, baker.invitation_id)  # Bea gets an SMS, not a letter


def test_third_letters_say_they_are_the_last(db: Database, tmp_path: Path) -> None:
    seed(db, sms=False)
    first = plan_batch(db, 1, "2026-11", D(2026, 10, 1), today=TODAY)
    confirm_batch(db, first.batch.id, D(2026, 10, 1), today=TODAY)
    second = plan_batch(db, 2, "2026-11", D(2026, 10, 15), today=TODAY)
    assert second.invitations
    confirm_batch(db, second.batch.id, D(2026, 10, 15), today=TODAY)
    third = plan_batch(db, 3, "2026-11", D(2026, 11, 2), today=TODAY)
    assert third.invitations
    result = render_batch_letters(db, third.batch.id, tmp_path / "o", D(2026, 11, 2), pdf=False)
    assert result.letters
    for path in result.letters:
        text = _text(path)
        assert "last letter" in text
        assert "2 November 2026" in text
    standard = [t for t in map(_text, result.letters) if "Cal Cole" in t]
    assert "we will not send you any more letters about your review this year" in standard[0]


def test_copy_templates_then_edited_copy_is_used(
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "practice-templates"
    monkeypatch.setenv("RECALL_TEMPLATES_DIR", str(folder))
    assert main(["letters", "copy", "--json"]) == 0
    copied = json.loads(capsys.readouterr().out)["copied"]
    assert len(copied) == 10 and (folder / "stage1.docx").is_file()
    assert copy_templates(folder) == []  # kept unless --overwrite
    d = docx.Document(str(folder / "stage1.docx"))
    d.add_paragraph("Our car park is closed on Fridays.")
    d.save(str(folder / "stage1.docx"))
    batch_id = seed(db, sms=False)
    result = render_batch_letters(db, batch_id, tmp_path / "o", pdf=False)
    standard = [t for t in map(_text, result.letters) if "Cal Cole" in t]
    assert "Our car park is closed on Fridays." in standard[0]


FAKE_SOFFICE = """#!{python}
import sqlite3, sys
from pathlib import Path
args = sys.argv[1:]
outdir, docx = Path(args[args.index("--outdir") + 1]), Path(args[-1])
con = sqlite3.connect({db!r})
made = con.execute("select letters_made_on from batch where id = ?", ({batch},)).fetchone()[0]
(outdir / (docx.stem + ".pdf")).write_bytes(b"%PDF-1.4 letters_made_on=" + str(made).encode())
"""


def test_letters_are_recorded_as_made_before_the_pdf_is_made(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF can take minutes: quitting then must still leave the letters known as made,
    or the list would be planned again under letters already printed."""
    batch_id = seed(sqlite_db)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "soffice"
    db_file = str(sqlite_db.url).removeprefix("sqlite:///")
    fake.write_text(FAKE_SOFFICE.format(python=sys.executable, db=db_file, batch=batch_id))
    fake.chmod(0o700)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = render_batch_letters(sqlite_db, batch_id, tmp_path / "out", TODAY, pdf=True)
    assert result.pdf is not None, result.pdf_message
    assert Path(result.pdf).read_bytes() == f"%PDF-1.4 letters_made_on={TODAY}".encode()
    with sqlite_db.read() as s:
        actions = s.execute(
            select(audit_log_t.c.action)
            .where(audit_log_t.c.batch_id == batch_id)
            .order_by(audit_log_t.c.id)
        ).scalars()
        assert list(actions)[-2:] == ["batch.letters", "batch.letters_pdf"]
