"""`g` (Make letters) on a list whose letters were made on an earlier day and not recorded as
sent asks first: Esc (or Enter) changes nothing, `s` records them as sent on the day they were
made, only `a` makes them again dated today. Driven by Pilot on the demo practice (a real
SQLite file); assertions are on what the database and the letters folder hold.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_seed import Seeder
from sqlalchemy import select
from test_tui_support import TODAY, app_for, press, settle
from textual.pilot import Pilot
from textual.widgets import Static

from recall.services.letters import render_batch_letters
from recall.services.views.run_view import open_review
from recall.store.db import Database
from recall.store.models import audit_log_t, batch_t, recorded_code_t
from recall.tui.app import make_app
from recall.tui.screens.confirm import ConfirmSentScreen, DoneScreen
from recall.tui.screens.letters import LettersScreen
from recall.tui.screens.made_earlier import MadeEarlierModal
from recall.tui.screens.run import ChooseRunScreen, ReviewScreen

MON = dt.date(2026, 11, 23)  # the letters were made (and posted); TODAY is Friday 27th


def made_on_monday(url: str, out: Path) -> int:
    """This month's 1st letters, planned and made on Monday, not recorded as sent."""
    db = Database(url)
    try:
        review = open_review(db, 1, "2026-11", today=MON)
        batch_id = review.batch.id
        render_batch_letters(db, batch_id, out / f"batch-{batch_id}", MON, pdf=False)
    finally:
        db.dispose()
    return batch_id


def state(app: Any, batch_id: int) -> tuple[dt.date | None, str, int]:
    """(letters made on, batch status, how many times letters were made)."""
    with app.ctx.db.read() as s:
        b = s.execute(select(batch_t).where(batch_t.c.id == batch_id)).one()
        made = s.execute(
            select(audit_log_t.c.details).where(
                audit_log_t.c.action == "batch.letters", audit_log_t.c.batch_id == batch_id
            )
        ).all()
    return b.letters_made_on, b.status, len(made)


async def open_list(pilot: Pilot[Any], batch_id: int) -> ReviewScreen:
    await press(pilot, "r")
    assert isinstance(pilot.app.screen, ChooseRunScreen)
    await press(pilot, "enter")
    review = pilot.app.screen
    assert isinstance(review, ReviewScreen) and review.review is not None
    assert review.review.batch.id == batch_id  # the list the letters were made from
    return review


def modal_text(pilot: Pilot[Any]) -> str:
    modal = pilot.app.screen
    assert isinstance(modal, MadeEarlierModal)
    return str(modal.query_one("#made-earlier-text", Static).render())


async def test_esc_and_enter_change_nothing(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    batch_id = made_on_monday(demo_url, out)
    letters = sorted((out / f"batch-{batch_id}").glob("letter-*.docx"))
    before = {p.name: p.read_bytes() for p in letters}
    app = app_for(demo_url, out)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await open_list(pilot, batch_id)
        await press(pilot, "g")
        text = modal_text(pilot)
        assert "made on Monday 23 November 2026" in text
        assert "press s to record them as sent" in text
        assert "dates the new letters today, Friday 27 November 2026" in text
        await press(pilot, "escape")
        assert app.screen is review
        await press(pilot, "g")
        assert isinstance(app.screen, MadeEarlierModal)
        await press(pilot, "g")  # not a way to say yes
        assert isinstance(app.screen, MadeEarlierModal)
        await press(pilot, "enter")  # the focused button is Cancel
        assert app.screen is review
    assert state(app, batch_id) == (MON, "planned", 1)
    assert {p.name: p.read_bytes() for p in letters} == before


async def test_a_makes_them_again_dated_today(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    batch_id = made_on_monday(demo_url, out)
    app = app_for(demo_url, out)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_list(pilot, batch_id)
        await press(pilot, "g", "a")
        made = app.screen
        assert isinstance(made, LettersScreen) and made.result is not None
        assert made.result.letters
    assert state(app, batch_id) == (TODAY, "planned", 2)
    with app.ctx.db.read() as s:
        last = s.execute(
            select(audit_log_t.c.details)
            .where(audit_log_t.c.action == "batch.letters", audit_log_t.c.batch_id == batch_id)
            .order_by(audit_log_t.c.id.desc())
        ).first()
    assert last is not None
    details = json.loads(last[0])
    assert (details["previously_made_on"], details["made_on"]) == ("2026-11-23", "2026-11-27")


async def test_s_records_them_as_sent_on_the_day_they_were_made(
    demo_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "made-on-monday"
    batch_id = made_on_monday(demo_url, out)
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_list(pilot, batch_id)
        await press(pilot, "g", "s")
        confirm = app.screen
        assert isinstance(confirm, ConfirmSentScreen)
        question = str(confirm.query_one("#sent-question", Static).render())
        assert question == "Did these letters go out on Monday 23 November 2026?"
        await press(pilot, "y")
        assert isinstance(app.screen, DoneScreen)
    assert state(app, batch_id) == (MON, "sent", 1)  # no letters made again
    # the coding worksheet is written beside the letters that went out
    assert (out / f"batch-{batch_id}" / f"coding-worksheet-batch-{batch_id}.csv").is_file()
    with app.ctx.db.read() as s:
        dates = set(
            s.execute(
                select(recorded_code_t.c.date).where(recorded_code_t.c.batch_id == batch_id)
            ).scalars()
        )
    assert dates == {MON}


async def test_made_earlier_today_asks_nothing(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    db = Database(demo_url)
    try:
        batch_id = open_review(db, 1, "2026-11", today=TODAY).batch.id
        render_batch_letters(db, batch_id, out / f"batch-{batch_id}", TODAY, pdf=False)
    finally:
        db.dispose()
    app = app_for(demo_url, out)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_list(pilot, batch_id)
        await press(pilot, "g")
        assert isinstance(app.screen, LettersScreen)
    assert state(app, batch_id) == (TODAY, "planned", 2)


# ----------------------------------------------------------------------------- snapshot

SIZE = (80, 24)
SnapCompare = Callable[..., bool]


def out_dir(name: str) -> Path:
    """A fixed output folder, so file paths on screen are the same every run."""
    path = Path("/tmp/recall-snapshots") / name
    shutil.rmtree(path, ignore_errors=True)
    return path


WED = dt.date(2026, 9, 23)  # the longest words a date can give: Wednesday, September
LATER = dt.date(2026, 9, 30)


def test_snapshot_made_earlier_question(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The question at 80x24 with its longest dates, over the list it was asked from."""
    url = f"sqlite:///{tmp_path / 'recall.db'}"
    db = Database(url)
    try:
        seed = Seeder(db)
        seed.patient(dob=dt.date(1958, 9, 14), family="Okonkwo", given="Grace", conditions=("HYP",))
        seed.patient(dob=dt.date(1949, 9, 2), family="Whitfield", given="Tom", conditions=("DM",))
        batch_id = open_review(db, 1, "2026-09", today=WED).batch.id
        render_batch_letters(db, batch_id, out_dir("made_earlier") / "first", WED, pdf=False)
    finally:
        db.dispose()
    app = make_app(
        url,
        today=LATER,
        theme="textual-dark",
        cursor_blink=False,
        out_dir=out_dir("made_earlier"),
        make_pdf=False,
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.app.push_screen(ReviewScreen(1, "2026-09"))
        await settle(pilot)
        await press(pilot, "g")
        assert isinstance(pilot.app.screen, MadeEarlierModal)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
