"""Every message fits at 80x24: it wraps or scrolls, never stops mid-word below the screen.

Each test uses the longest real message the screen can show, and the CLI gives the same
warnings the screen does.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from engine_seed import Seeder
from test_tui_support import (
    TODAY,
    app_for,
    press,
    settle,
)

from recall.cli import main
from recall.services.batches import confirm_batch, get_batch, plan_batch
from recall.store.db import Database
from recall.tui.screens.confirm import DoneScreen

D = dt.date
SnapCompare = Callable[..., bool]


def _uncoded_close_by(db: Database) -> tuple[int, str]:
    """A batch whose confirm warns: a generic-only letter two days after the send date."""
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP", "DM"))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=D(2026, 11, 27))
    seed.events((pid, D(2026, 11, 12), "Y1f8f"))
    return plan.batch.id, nhs


def test_batch_show_json_has_the_confirm_warnings(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id, _nhs = _uncoded_close_by(sqlite_db)
    url = sqlite_db.url
    assert main(["--db", url, "batch", "confirm", str(batch_id), "--json"]) == 0
    confirmed = json.loads(capsys.readouterr().out)
    assert len(confirmed["warnings"]) == 2  # HYP and DM, each with its own reason
    assert main(["--db", url, "batch", "show", str(batch_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["warnings"] == confirmed["warnings"]
    assert shown["confirm_warnings"] == confirmed["warnings"]
    assert "; if backfill adds" in confirmed["warnings"][0]["reason"]  # split only at keys


def test_no_clash_warning_for_a_condition_that_needs_no_code_this_year(
    sqlite_db: Database,
) -> None:
    """Depression needs no QOF invite code from 2025/26, so no code can clash with it."""
    seed = Seeder(sqlite_db)
    pid, _nhs = seed.patient(conditions=("HYP", "DEPR"))
    plan = plan_batch(sqlite_db, 1, "2026-11", D(2026, 11, 10), today=D(2026, 11, 27))
    assert {c for x in plan.invitations for c in x.conditions} == {"HYP", "DEPR"}
    seed.events((pid, D(2026, 11, 12), "Y1f8f"))
    result = confirm_batch(sqlite_db, plan.batch.id, today=D(2026, 11, 27))
    assert [w["condition"] for w in result.warnings] == ["HYP"]


def _long_warnings(url: str) -> tuple[int, Any]:
    """A real confirmed batch of the demo, given the longest warning confirm can write."""
    db = Database(url)
    try:
        plan = plan_batch(db, 1, "2026-11", TODAY, today=TODAY)
        result = confirm_batch(db, plan.batch.id, today=TODAY)
        done = get_batch(db, plan.batch.id)
    finally:
        db.dispose()
    reason = (
        "COPD: an invitation coded without the COPD code on 2026-11-24 is 3 days away; if "
        "backfill adds the COPD code there, the two will be under 7 days apart"
    )
    warnings = [
        {
            "nhs_number": x.nhs_number,
            "patient_id": str(x.patient_id),
            "condition": "COPD",
            "reason": reason,
        }
        for x in done.invitations[:8]
    ]
    return plan.batch.id, replace(result, warnings=warnings)


class TestDoneWarnings:
    def test_done_scrolls_to_the_last_warning(self, demo_url: str, tmp_path: Path) -> None:
        import asyncio

        batch_id, result = _long_warnings(demo_url)

        async def run() -> None:
            app = app_for(demo_url, tmp_path / "out")
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                app.push_screen(DoneScreen(batch_id, "1st letters", result, tmp_path / "b"))
                await settle(pilot)
                body = app.screen.query_one("#done-body")
                assert app.screen.focused is body
                assert body.max_scroll_y > 0  # the list is longer than the screen...
                await press(pilot, "end")
                assert body.scroll_y == body.max_scroll_y  # ...and the keys reach its end
                assert len(app.screen_stack) == 2  # no error dialog on top
                text = str(app.screen.query_one("#done-warnings").render())
                assert text.count("under 7 days apart") == 8

        asyncio.run(run())

    def test_done_snapshot(self, snap_compare: SnapCompare, demo_url: str) -> None:
        batch_id, result = _long_warnings(demo_url)
        # a folder of its own (other runs on this machine use theirs); its name has a fixed
        # length, so the scrolled-away path wraps the same and the picture is the same
        folder = Path(tempfile.mkdtemp(prefix="rdw-", dir="/tmp")) / "b"

        async def run_before(pilot: Any) -> None:
            await settle(pilot)
            pilot.app.push_screen(DoneScreen(batch_id, "1st letters", result, folder))
            await settle(pilot)
            await press(pilot, "end")

        app = app_for(demo_url, folder)
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


class TestSettingsMessages:
    async def test_refusal_is_on_screen_and_boxes_read_off(
        self, demo_url: str, tmp_path: Path
    ) -> None:
        from textual.widgets import Checkbox

        from recall.tui.widgets import TextBox

        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await press(pilot, "s")
            screen = app.screen
            box = screen.query_one("#record_generic", Checkbox)
            assert not box.value and str(box.label) == "Off"
            assert "X" not in str(box.render())
            box.toggle()
            await settle(pilot)
            assert str(box.label) == "On" and "X" in str(box.render())
            screen.query_one("#stage_interval_days", TextBox).value = "6"
            await press(pilot, "ctrl+s")
            status = screen.query_one("#settings-status")
            assert "at least 7" in str(status.render())
            assert status.region.y >= 0 and status.region.bottom <= 24  # seen at 80x24
            assert screen.focused is screen.query_one("#stage_interval_days")

    def test_refusal_snapshot(self, snap_compare: SnapCompare, demo_url: str) -> None:
        from recall.tui.widgets import TextBox

        async def run_before(pilot: Any) -> None:
            await settle(pilot)
            await press(pilot, "s")
            pilot.app.screen.query_one("#stage_interval_days", TextBox).value = "6"
            await press(pilot, "ctrl+s")

        app = app_for(demo_url, Path("/tmp/recall-snapshots/settings-refused"))
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def _bad_files(folder: Path) -> dict[str, Path]:
    """Files staff really try to import: a Word letter, Windows-1252 text, a wrong NHS number."""
    from docx import Document

    folder.mkdir(parents=True, exist_ok=True)
    word = folder / "patients.docx"
    doc = Document()
    doc.add_paragraph("nhs_number,family_name,given_name,date_of_birth")
    doc.save(str(word))
    latin = folder / "patients-latin1.csv"
    latin.write_bytes(
        b"nhs_number,family_name,given_name,date_of_birth\n9434765919,Sm\xacth,Ann,1950-11-03\n"
    )
    digit = folder / "patients-digit.csv"
    digit.write_text(
        "nhs_number,family_name,given_name,date_of_birth\n9434765918,Smith,Ann,1950-11-03\n",
        encoding="utf-8",
    )
    return {"word": word, "latin": latin, "digit": digit}


async def _import(pilot: Any, path: Path) -> None:
    from recall.tui.widgets import TextBox

    await settle(pilot)
    await press(pilot, "i")
    pilot.app.screen.query_one("#path", TextBox).value = str(path)
    await press(pilot, "ctrl+s")


class TestImportMessages:
    @pytest.mark.parametrize(
        ("which", "expected"),
        [
            ("word", "patients.docx is a Word document (.docx), not CSV"),
            ("latin", "export as UTF-8 from the clinical system"),
            ("digit", "the NHS number's check digit is wrong"),
        ],
    )
    async def test_whole_sentence_on_screen(
        self, demo_url: str, tmp_path: Path, which: str, expected: str
    ) -> None:
        path = _bad_files(tmp_path / "in")[which]
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await _import(pilot, path)
            screen = app.screen
            shown = " ".join(
                str(screen.query_one(w).render()) for w in ("#import-status", "#import-detail")
            )
            assert expected in " ".join(shown.split())  # wrapped, never cut
            assert "Excel" not in shown or which != "word"
            assert "line 0" not in shown.lower()
            for wid in ("#import-status", "#import-detail"):
                assert screen.query_one(wid).region.bottom <= 24

    @pytest.mark.parametrize("which", ["word", "latin"])
    def test_snapshot(self, snap_compare: SnapCompare, demo_url: str, which: str) -> None:
        folder = Path("/tmp/recall-snapshots/import-messages")
        shutil.rmtree(folder, ignore_errors=True)
        path = _bad_files(folder)[which]

        async def run_before(pilot: Any) -> None:
            await _import(pilot, path)

        app = app_for(demo_url, folder / "out")
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


class TestColumnsKeepWords:
    async def test_patient_cells_fit_and_detail_says_it_whole(
        self, demo_url: str, tmp_path: Path
    ) -> None:
        from textual.widgets import DataTable

        from recall.services.views.year_view import cell_patients
        from recall.tui.screens.patients import PatientScreen

        db = Database(demo_url)
        try:
            # invited 7-13 days ago: waiting for the stage interval before the 2nd
            who = next(
                c
                for c in cell_patients(db, "HYP", "invited_once", TODAY)
                if 7 <= (TODAY - c.invitations[-1]).days < 14
            )
        finally:
            db.dispose()
        app = app_for(demo_url, tmp_path / "out")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.push_screen(PatientScreen(who.nhs_number))
            await settle(pilot)
            screen = app.screen
            for tid in ("#conditions", "#timeline"):
                table = screen.query_one(tid, DataTable)
                widths = [c.width for c in table.columns.values()]
                for r in range(table.row_count):
                    for text, width in zip(table.get_row_at(r), widths, strict=True):
                        assert len(str(text)) <= width, (tid, str(text))  # or ends in "…"
            table = screen.query_one("#conditions", DataTable)
            hyp = list(screen.view.status).index("HYP")  # type: ignore[attr-defined]
            table.move_cursor(row=hyp)
            await settle(pilot)
            detail = " ".join(str(screen.query_one("#condition-detail").render()).split())
            assert "the 2nd can go from" in detail
            assert screen.query_one("#condition-detail").region.bottom <= 24

    def test_patient_snapshot(self, snap_compare: SnapCompare, demo_url: str) -> None:
        from recall.services.views.year_view import cell_patients
        from recall.tui.screens.patients import PatientScreen

        db = Database(demo_url)
        try:
            # invited 7-13 days ago: waiting for the stage interval before the 2nd
            who = next(
                c
                for c in cell_patients(db, "HYP", "invited_once", TODAY)
                if 7 <= (TODAY - c.invitations[-1]).days < 14
            )
        finally:
            db.dispose()

        async def run_before(pilot: Any) -> None:
            await settle(pilot)
            pilot.app.push_screen(PatientScreen(who.nhs_number))
            await settle(pilot)

        app = app_for(demo_url, Path("/tmp/recall-snapshots/patient-detail"))
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
