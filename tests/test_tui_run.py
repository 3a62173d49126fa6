"""The terminal UI driven by Pilot on a demo practice (a real SQLite file): the monthly run
from home to recorded codes, a rule refusal shown per patient, the tidy-up, import errors,
patient lookup. Assertions are on what the database holds afterwards."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from rich.text import Text
from sqlalchemy import func, insert, select
from test_tui_support import (
    TODAY,
    app_for,
    press,
    settle,
)
from textual.widgets import DataTable, OptionList, Static

from recall.services.backfill import plan_backfill
from recall.services.catalogue import load_catalogue
from recall.store.models import event_t, patient_t, recorded_code_t, register_t, response_t
from recall.tui.screens.backfill import BackfillDoneScreen, BackfillScreen
from recall.tui.screens.confirm import ConfirmSentScreen, DoneScreen
from recall.tui.screens.help import HelpScreen
from recall.tui.screens.imports import ImportScreen
from recall.tui.screens.patients import PatientScreen, PatientSearchScreen
from recall.tui.screens.run import ChooseRunScreen, ReviewScreen
from recall.tui.virtual_table import VirtualTable
from recall.tui.widgets import TextBox


def codes_of_batch(app: Any, batch_id: int) -> list[Any]:
    r = recorded_code_t
    with app.ctx.db.read() as s:
        return list(
            s.execute(
                select(r.c.patient_id, r.c.code, r.c.date, r.c.condition, r.c.origin).where(
                    r.c.batch_id == batch_id, r.c.voided.is_(False)
                )
            )
        )


async def open_first_letters(pilot: Any) -> ReviewScreen:
    await press(pilot, "r")
    choose = pilot.app.screen
    assert isinstance(choose, ChooseRunScreen)
    first = choose.options[0]
    assert (first.stage, first.month) == (1, "2026-11"), "this month's 1st letters come first"
    await press(pilot, "enter")
    review = pilot.app.screen
    assert isinstance(review, ReviewScreen) and review.review is not None
    assert len(review.rows) == first.due > 0
    return review


async def test_monthly_first_letters_from_home_to_recorded_codes(
    demo_url: str, tmp_path: Path
) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await open_first_letters(pilot)
        batch_id = review.review.batch.id  # type: ignore[union-attr]
        left_out = review._current()
        assert left_out is not None
        # untick the first patient, giving a reason
        await press(pilot, "space")
        for ch in "moving away":
            await pilot.press(ch if ch != " " else "space")
        await press(pilot, "enter")
        assert not review.rows[left_out].included
        ticked = {pid for pid, r in review.rows.items() if r.included}
        assert "unticked" in str(review.query_one("#counts", Static).render())

        # the rest of the run: make letters, check a letter, confirm sent today
        keys = ["g", "enter", "enter", "y"]
        assert len(keys) < 10
        await press(pilot, *keys)
        done = app.screen
        assert isinstance(done, DoneScreen), type(done)
        sheet = tmp_path / "out" / f"batch-{batch_id}" / f"coding-worksheet-batch-{batch_id}.csv"
        assert sheet.exists()
        assert str(sheet) in str(done.query_one("#worksheet", Static).render())
        await press(pilot, "enter")
        assert len(app.screen_stack) == 1  # back home

    codes = codes_of_batch(app, batch_id)
    assert {c.patient_id for c in codes} == ticked
    assert {c.date for c in codes} == {TODAY}
    assert {c.origin for c in codes} == {"send"}
    stage_codes = [c for c in codes if c.condition is None]
    assert {c.code for c in stage_codes} == {"XabEf"}
    assert len(stage_codes) == len(ticked)
    assert all(c.condition for c in codes if c.code != "XabEf")
    assert left_out not in {c.patient_id for c in codes}


async def test_a_sent_run_keeps_its_line_and_the_cursor_its_place(
    demo_url: str, tmp_path: Path
) -> None:
    """November's 1st letters are sent (here from another terminal while the list is open):
    back on the chooser their line is still first, dimmed and marked sent, the lines below
    have not moved and the cursor is where it was. Enter on it opens no empty list; opening
    the chooser afresh puts the cursor on the first line still due."""
    from recall.services.batches import confirm_batch, plan_batch

    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await open_first_letters(pilot)
        choose = app.screen_stack[-2]
        assert isinstance(choose, ChooseRunScreen)
        lines = [(o.stage, o.month) for o in choose.options]
        plan = plan_batch(app.ctx.db, 1, "2026-11", TODAY, today=TODAY)
        assert plan.batch.id == review.review.batch.id  # type: ignore[union-attr]
        confirm_batch(app.ctx.db, plan.batch.id, today=TODAY)
        sent = len(plan.invitations)
        await press(pilot, "escape")
        assert app.screen_stack[-1:] == [choose]
        assert [(o.stage, o.month) for o in choose.options][: len(lines)] == lines
        first = choose.options[0]
        assert first.done and first.due == 0
        ol = choose.query_one(OptionList)
        assert ol.highlighted == 0 and ol.option_count == len(choose.options)
        text = ol.get_option_at_index(0).prompt
        assert isinstance(text, Text)
        # the demo sends some by text, and "5 letters, 11 texts" is too long for the line
        assert str(text).endswith(f"sent 27 Nov, {sent} patients"), str(text)
        assert all(span.style == "dim" for span in text.spans)
        detail = str(choose.query_one("#choose-detail", Static).render())
        assert "Sent on Friday 27 November 2026" in detail and "Nobody else is due" in detail
        await press(pilot, "enter")
        assert app.screen_stack[-1:] == [choose]  # nothing to open: it says so instead
        await press(pilot, "escape", "r")
        again = app.screen
        assert isinstance(again, ChooseRunScreen) and again is not choose
        assert again.options[0].done
        cursor = again.query_one(OptionList).highlighted
        assert cursor == 1 and not again.options[1].done and again.options[1].due > 0


async def test_a_list_whose_letters_were_made_says_so_in_the_chooser(
    demo_url: str, tmp_path: Path
) -> None:
    """Its line counts the patients the letters were made for (the list opens as they were
    made), and the line below it says how to go on and where anyone due since goes."""
    from recall.services.batches import plan_batch
    from recall.services.letters import render_batch_letters

    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        plan = plan_batch(app.ctx.db, 1, "2026-11", TODAY, today=TODAY)
        render_batch_letters(app.ctx.db, plan.batch.id, tmp_path / "letters", TODAY, pdf=False)
        await press(pilot, "r")
        choose = app.screen
        assert isinstance(choose, ChooseRunScreen)
        first = choose.options[0]
        assert (first.stage, first.month, first.made_on) == (1, "2026-11", TODAY)
        assert first.in_letters == len(plan.invitations) > 0
        text = str(choose.query_one(OptionList).get_option_at_index(0).prompt)
        assert text.endswith(f"{len(plan.invitations)} in letters made 27 Nov"), text
        detail = str(choose.query_one("#choose-detail", Static).render())
        assert "Letters made on Friday 27 November" in detail
        assert "Anyone due since goes in the next list" in detail


async def test_a_seven_day_refusal_is_listed_per_patient_then_left_out(
    demo_url: str, tmp_path: Path
) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await open_first_letters(pilot)
        batch_id = review.review.batch.id  # type: ignore[union-attr]
        victim = next(r for r in review.rows.values() if r.included)
        # the clinical system shows a condition invitation 3 days ago for this patient
        with app.ctx.db.write() as s:
            cond = load_catalogue(s).get(victim.conditions[0])
            assert cond is not None and cond.record_code
            s.execute(
                insert(event_t).values(
                    patient_id=victim.patient_id,
                    date=TODAY - dt.timedelta(days=3),
                    code=cond.record_code,
                    code_system="snomed",
                )
            )
        await press(pilot, "g", "enter", "enter", "y")
        confirm = app.screen
        assert isinstance(confirm, ConfirmSentScreen)
        text = str(confirm.query_one("#problems", Static).render())
        assert "Nothing was recorded" in text
        assert victim.name in text and "Traceback" not in text
        assert codes_of_batch(app, batch_id) == []
        await press(pilot, "x", "y")
        assert isinstance(app.screen, DoneScreen)
    codes = codes_of_batch(app, batch_id)
    assert codes and victim.patient_id not in {c.patient_id for c in codes}


async def test_unticking_survives_leaving_the_list(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        review = await open_first_letters(pilot)
        pid = review._current()
        assert pid is not None
        await press(pilot, "space")
        review.app.screen.query_one("#reason", TextBox).value = "in hospital"
        await press(pilot, "enter", "escape")  # back to the choice of letters
        assert isinstance(app.screen, ChooseRunScreen)
        await press(pilot, "enter")
        again = app.screen
        assert isinstance(again, ReviewScreen) and again is not review
        assert not again.rows[pid].included
        assert again.rows[pid].reason == "in hospital"
        # filter and the not-due list
        await press(pilot, "slash")
        again.query_one("#filter", TextBox).value = again.rows[pid].nhs_number
        await settle(pilot)
        assert again.query_one(VirtualTable).row_count == 1
        await press(pilot, "enter", "n")
        assert again.showing_not_due
        await press(pilot, "escape")
        assert not again.showing_not_due and isinstance(app.screen, ReviewScreen)


async def test_tidy_up_applies_the_plan(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    expected = plan_backfill(app.ctx.db, today=TODAY).summary.items
    assert expected > 0
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "b")
        screen = app.screen
        assert isinstance(screen, BackfillScreen)
        assert f"{expected:,} codes can be added" in str(
            screen.query_one("#bf-summary", Static).render()
        )
        await press(pilot, "enter")  # drill into the first (date, code) group
        assert app.screen.query_one(DataTable).row_count > 0
        await press(pilot, "escape", "a", "y")
        done = app.screen
        assert isinstance(done, BackfillDoneScreen)
        assert done.result.recorded == expected
        assert done.result.worksheet is not None and done.result.worksheet.exists()
    r = recorded_code_t
    with app.ctx.db.read() as s:
        n = s.scalar(select(func.count()).select_from(r).where(r.c.origin == "backfill"))
    assert n == expected
    assert plan_backfill(app.ctx.db, today=TODAY).summary.items == 0


async def test_import_of_a_bad_file_lists_problems_with_line_numbers(
    demo_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "patients.csv"
    bad.write_text(
        "nhs_number,family_name,given_name,date_of_birth\n"
        "9434765919,Smith,Ann,1950-11-03\n"
        "123,Jones,Bob,1960-02-01\n"
        "9434765919,Again,Ann,1950-11-03\n",
        encoding="utf-8",
    )
    app = app_for(demo_url, tmp_path / "out")
    with app.ctx.db.read() as s:
        before = s.scalar(select(func.count()).select_from(patient_t))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "i")
        screen = app.screen
        assert isinstance(screen, ImportScreen)
        screen.query_one("#path", TextBox).value = str(bad)
        await press(pilot, "ctrl+s")
        status = str(screen.query_one("#import-status", Static).render())
        assert "Nothing was imported" in status
        table = screen.query_one(DataTable)
        lines = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert lines == ["3", "4"]
    with app.ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(patient_t)) == before


async def test_patient_lookup_and_marking_booked(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    with app.ctx.db.read() as s:
        pid, family = s.execute(
            select(patient_t.c.id, patient_t.c.family_name)
            .join(register_t, register_t.c.patient_id == patient_t.c.id)
            .where(register_t.c.condition == "HYP", patient_t.c.date_of_death.is_(None))
            .order_by(patient_t.c.id)
            .limit(1)
        ).one()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        assert isinstance(app.screen, PatientSearchScreen)
        search = app.screen.query_one("#search", TextBox)
        search.value = family
        await press(pilot, "enter")
        hits = getattr(app.screen, "hits")  # noqa: B009 (the search screen's result list)
        assert any(h.patient_id == pid for h in hits)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=next(i for i, h in enumerate(hits) if h.patient_id == pid))
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, PatientScreen) and screen.view is not None
        assert "HYP" in screen.view.status
        conditions = screen.query_one("#conditions", DataTable)
        conditions.move_cursor(row=conditions.get_row_index("HYP"))
        await press(pilot, "b", "y")  # b asks first
        row = conditions.get_row_at(conditions.get_row_index("HYP"))
        assert "booked" in str(row[3])
    with app.ctx.db.read() as s:
        marks = list(
            s.execute(
                select(response_t.c.condition, response_t.c.kind).where(
                    response_t.c.patient_id == pid
                )
            )
        )
    assert [tuple(m) for m in marks] == [("HYP", "booked")]


async def test_help_and_command_palette_cover_every_screen(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title, _help, _factory in app.screen_factories.values():
            assert title in titles
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert len(app.screen_stack) == 1


async def test_import_a_good_file_chosen_by_browsing(demo_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    good = folder / "new-patients.csv"
    good.write_text(
        "nhs_number,family_name,given_name,date_of_birth\n9434765919,Smith,Ann,03/11/1950\n",
        encoding="utf-8",
    )
    (folder / "notes.docx").write_bytes(b"not offered")
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "i")
        screen = app.screen
        assert isinstance(screen, ImportScreen)
        path_box = screen.query_one("#path", TextBox)
        path_box.value = str(folder)
        # the folder tree reads folders in a long-lived worker: wait by time, not for workers
        await pilot.press("ctrl+o")
        await pilot.pause(0.5)
        await pilot.press("down", "enter")
        await pilot.pause(0.3)
        assert app.screen is screen and path_box.value == str(good)
        await press(pilot, "ctrl+s")
        status = str(screen.query_one("#import-status", Static).render())
        assert "Imported new-patients.csv" in status and "1 added" in status
    with app.ctx.db.read() as s:
        found = s.execute(
            select(patient_t.c.family_name).where(patient_t.c.nhs_number == "9434765919")
        ).scalar()
    assert found == "Smith"
