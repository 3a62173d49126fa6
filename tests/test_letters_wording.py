"""Letters patients are glad to get: plural wording for several conditions, no sensitive
diagnosis named on paper unless the practice chooses, nothing said when there is nothing to
bring, a named signatory, large print that does not offer large print, easy read that keeps
"Phone us on:" with the number. Real letters, re-opened with python-docx."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlalchemy import insert

from recall.letters.check import docx_text
from recall.services.batches import plan_batch
from recall.services.letters import render_batch_letters
from recall.services.settings import get_settings, save_settings
from recall.store.db import Database
from recall.store.models import patient_t, register_t
from recall.store.practice_repo import get_or_create_practice

D = dt.date
TODAY = D(2026, 11, 27)
SEND = D(2026, 11, 30)
THREE: tuple[str, ...] = ("HYP", "DM", "DEPR")
PATIENTS: list[dict[str, Any]] = [
    dict(nhs_number="9434765919", given_name="Ann", family_name="Standard", postcode="LS1 1AA",
         address_line1="1 A Street", communication_needs=""),
    dict(nhs_number="9434765870", given_name="Bob", family_name="Large", postcode="LS2 1AA",
         address_line1="2 B Street", communication_needs="large_print"),
    dict(nhs_number="9434765846", given_name="Cat", family_name="Easy", postcode="LS3 1AA",
         address_line1="3 C Street", communication_needs="easy_read"),
]  # fmt: skip


def _seed(db: Database, **settings: Any) -> int:
    with db.write() as s:
        pid = get_or_create_practice(s).id
        assert pid is not None
        st = get_settings(s, pid)
        st.practice_name = "Oak Surgery"
        st.address = ["1 Surgery Road", "Leeds"]
        st.phone = "0113 496 0000"
        for key, value in settings.items():
            setattr(st, key, value)
        save_settings(s, st, operator="test", practice_id=pid)
        for p in PATIENTS:
            res: Any = s.execute(
                insert(patient_t).values(practice_id=pid, date_of_birth=D(1950, 11, 3), **p)
            )
            for cond in THREE:
                s.execute(
                    insert(register_t).values(
                        patient_id=res.inserted_primary_key[0], condition=cond
                    )
                )
    return plan_batch(db, 1, "2026-11", SEND, today=TODAY).batch.id


def _letter_files(db: Database, tmp_path: Path, **settings: Any) -> dict[str, Path]:
    batch_id = _seed(db, **settings)
    result = render_batch_letters(db, batch_id, tmp_path / "out", today=TODAY, pdf=False)
    assert len(result.letters) == 3
    paths = [Path(p) for p in result.letters]
    return dict(zip(("standard", "large_print", "easy_read"), paths, strict=True))


def _letters(db: Database, tmp_path: Path, **settings: Any) -> dict[str, str]:
    return {
        variant: "\n".join(docx_text(docx.Document(str(path))))
        for variant, path in _letter_files(db, tmp_path, **settings).items()
    }


def test_three_conditions_with_depression(sqlite_db: Database, tmp_path: Path) -> None:
    letters = _letters(sqlite_db, tmp_path)
    for variant, text in letters.items():
        low = text.lower()
        assert "depression" not in low and "feeling" not in low, variant
        assert "annual health review" in low, variant
        assert "nothing special" not in low, variant
        assert "High blood pressure" in text and "Diabetes" in text, variant
    assert "your yearly review of your long-term health conditions." in letters["standard"]
    assert "long-term health condition." not in letters["standard"]
    assert "large print, easy read" in letters["standard"]
    assert "large print" not in letters["large_print"].lower()
    assert "this letter in easy read" in letters["large_print"]


def test_practice_may_name_every_condition_and_sign(sqlite_db: Database, tmp_path: Path) -> None:
    letters = _letters(
        sqlite_db, tmp_path, name_sensitive_conditions=True, signatory="Dr A Patel, GP partner"
    )
    for variant, text in letters.items():
        assert "depression" in text.lower(), variant
        assert "Dr A Patel, GP partner" in text, variant
        assert "nothing special" not in text.lower(), variant


def test_only_a_sensitive_condition_reads_annual_health_review(
    sqlite_db: Database, tmp_path: Path
) -> None:
    global THREE
    saved, THREE = THREE, ("DEPR",)
    try:
        letters = _letters(sqlite_db, tmp_path)
    finally:
        THREE = saved
    assert "It is time for your annual health review." in letters["standard"]
    assert "Please bring:" not in letters["easy_read"]  # nothing to bring: no empty heading
    assert "What to bring" not in letters["standard"]
    # no list that only repeats the opening: "Your review covers: • Your annual health review"
    for variant in ("standard", "large_print"):
        assert "Your review covers" not in letters[variant], variant
        assert letters[variant].lower().count("annual health review") == 1, variant
    assert "The check is about" not in letters["easy_read"]
    assert "health check" in letters["easy_read"]


def test_a_named_condition_keeps_the_list(sqlite_db: Database, tmp_path: Path) -> None:
    letters = _letters(sqlite_db, tmp_path)
    for variant in ("standard", "large_print"):
        assert "Your review covers" in letters[variant], variant
    assert "The check is about" in letters["easy_read"]


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_easy_read_keeps_phone_label_with_the_number(stage: int) -> None:
    from recall.resources import templates_dir

    doc = docx.Document(str(templates_dir() / f"stage{stage}_easy_read.docx"))
    # each easy-read section is a one-row table (picture | words): look in its cells too
    paras = [p for t in doc.tables for c in t.rows[0].cells for p in c.paragraphs]
    (label,) = [i for i, p in enumerate(paras) if p.text == "Phone us on:"]
    assert paras[label].paragraph_format.keep_with_next
    assert paras[label + 1].text == "{{ practice.phone }}"


def test_easy_read_has_a_picture_per_section_and_its_own_bring_words(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """High blood pressure, diabetes and depression: five sections, five pictures, and what
    to bring in the easy-read letter's own short words."""
    doc = docx.Document(str(_letter_files(sqlite_db, tmp_path)["easy_read"]))
    sections = doc.tables[1:]  # the first table is the letterhead and address
    assert len(sections) == 5
    assert len(doc.inline_shapes) == 5
    for table in sections:
        picture, _words = table.rows[0].cells
        assert len(picture._tc.xpath(".//pic:pic")) == 1
    text = "\n".join(docx_text(doc))
    assert "Your blood pressure numbers, if you check it at home" in text
    assert "Some wee in a pot (get the pot from reception)" in text
    assert "home blood pressure readings" not in text and "urine" not in text
    assert "depression" not in text.lower()


def test_easy_read_with_nothing_to_bring_drops_that_section(
    sqlite_db: Database, tmp_path: Path
) -> None:
    global THREE
    saved, THREE = THREE, ("DEPR",)
    try:
        doc = docx.Document(str(_letter_files(sqlite_db, tmp_path)["easy_read"]))
    finally:
        THREE = saved
    # when, how to book, company: no "about" section, it would only say "annual health review"
    assert len(doc.tables[1:]) == 3 and len(doc.inline_shapes) == 3
    assert "Please bring:" not in "\n".join(docx_text(doc))


def test_print_file_keeps_the_easy_read_pictures(sqlite_db: Database, tmp_path: Path) -> None:
    """The print file holds the standard, large-print and easy-read letters; the easy-read
    pictures come along (copied from its own template) and the file opens in Word's reader."""
    batch_id = _seed(sqlite_db)
    result = render_batch_letters(sqlite_db, batch_id, tmp_path / "out", today=TODAY, pdf=False)
    assert result.print_file is not None
    printed = docx.Document(result.print_file)
    assert len(printed.sections) == 3
    assert len(printed.inline_shapes) == 5
    media = {
        rel.target_part.partname
        for rel in printed.part.rels.values()
        if rel.reltype.endswith("/image")
    }
    assert len(media) == 5
