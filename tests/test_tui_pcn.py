"""The terminal UI on the demo PCN (a real SQLite file): the practice picker, stage 1 run for a
SystmOne and an EMIS practice, each worksheet with only its own patients and its own system's
codes, the PCN overview and its drill-down; with one practice nothing of this shows."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from test_tui_snapshots import SnapCompare, snap
from test_tui_support import TODAY, app_for, press, settle
from textual.geometry import Region
from textual.widgets import DataTable

from recall.services.demo import build_demo
from recall.services.practices import list_practices
from recall.services.views.year_view import year_dashboard
from recall.store.db import Database
from recall.store.models import batch_t, patient_t
from recall.tui.screens.confirm import DoneScreen
from recall.tui.screens.home import HomeScreen
from recall.tui.screens.pcn import PcnOverviewScreen
from recall.tui.screens.practices import PracticePickerScreen
from recall.tui.screens.run import ChooseRunScreen, ReviewScreen
from recall.tui.screens.year import YearScreen

PCN_PATIENTS = 2400


@pytest.fixture(scope="session", name="pcn_template")
def pcn_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo PCN per test session, copied per test."""
    path = tmp_path_factory.mktemp("pcn") / "pcn.db"
    db = Database(f"sqlite:///{path}")
    build_demo(db, patients=PCN_PATIENTS, today=TODAY, operator="test-operator", pcn=True)
    db.dispose()
    return path


@pytest.fixture(name="pcn_url")
def pcn_url_fixture(pcn_template: Path, tmp_path: Path) -> Iterator[str]:
    target = tmp_path / "pcn.db"
    shutil.copyfile(pcn_template, target)
    target.chmod(0o600)
    yield f"sqlite:///{target}"


async def choose(pilot: Any, ods: str) -> None:
    """On the picker: highlight the practice with this ODS code and work on it."""
    screen = pilot.app.screen
    assert isinstance(screen, PracticePickerScreen)
    row = next(i for i, p in enumerate(screen.practices) if p.ods_code == ods)
    screen.query_one(DataTable).move_cursor(row=row)
    await press(pilot, "enter")
    assert isinstance(pilot.app.screen, HomeScreen)
    assert pilot.app.ctx.practice.ods_code == ods
    assert ods in str(pilot.app.sub_title)


async def first_letters_to_done(pilot: Any) -> int:
    """This month's 1st letters from home to recorded codes; returns the batch id."""
    await press(pilot, "r")
    choose_run = pilot.app.screen
    assert isinstance(choose_run, ChooseRunScreen)
    first = choose_run.options[0]
    assert (first.stage, first.month) == (1, "2026-11") and first.due > 0
    await press(pilot, "enter")
    review = pilot.app.screen
    assert isinstance(review, ReviewScreen) and review.review is not None
    batch_id = review.review.batch.id
    await press(pilot, "g", "enter", "enter", "y")
    assert isinstance(pilot.app.screen, DoneScreen), type(pilot.app.screen)
    await press(pilot, "enter")
    assert isinstance(pilot.app.screen, HomeScreen)
    return batch_id


def sheet_rows(out: Path, batch_id: int) -> list[dict[str, str]]:
    path = out / f"batch-{batch_id}" / f"coding-worksheet-batch-{batch_id}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


async def test_switch_practice_and_run_stage_one_for_systmone_and_emis(
    pcn_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    app = app_for(pcn_url, out)
    batches: dict[str, int] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PracticePickerScreen)  # several practices: choose first
        await press(pilot, "escape")
        assert isinstance(app.screen, PracticePickerScreen)  # nothing to go back to yet
        await choose(pilot, "D99001")
        batches["D99001"] = await first_letters_to_done(pilot)
        await press(pilot, "p")
        await choose(pilot, "D99002")
        home = app.screen
        assert isinstance(home, HomeScreen) and home.dashboard is not None
        assert home.dashboard.practice_name == "Hilltop Demo Medical Centre"
        batches["D99002"] = await first_letters_to_done(pilot)

    practices = {p.ods_code: p for p in list_practices(app.ctx.db)}
    with app.ctx.db.read() as s:
        for ods, batch_id in batches.items():
            practice = practices[ods]
            owner = s.scalar(select(batch_t.c.practice_id).where(batch_t.c.id == batch_id))
            assert owner == practice.id
            own = set(
                s.scalars(
                    select(patient_t.c.nhs_number).where(patient_t.c.practice_id == practice.id)
                )
            )
            rows = sheet_rows(out, batch_id)
            assert rows and {r["nhs_number"] for r in rows} <= own
            codes = {r["code"] for r in rows}
            if practice.clinical_system == "systmone":
                assert "XabEf" in codes and not any(c.startswith("DEMOLTC") for c in codes)
            else:
                assert "DEMOLTC1" in codes and "XabEf" not in codes
    first, second = (sheet_rows(out, batches[o]) for o in ("D99001", "D99002"))
    assert not {r["nhs_number"] for r in first} & {r["nhs_number"] for r in second}


async def test_pcn_overview_drills_into_a_practice(pcn_url: str, tmp_path: Path) -> None:
    app = app_for(pcn_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await choose(pilot, "D99001")
        await press(pilot, "o")
        screen = app.screen
        assert isinstance(screen, PcnOverviewScreen) and screen.overview is not None
        shown = {r.practice.ods_code for r in screen.rows}
        assert shown == {"D99001", "D99002", "D99003", "D99004"}
        target = next(i for i, r in enumerate(screen.rows) if r.practice.ods_code == "D99003")
        screen.query_one(DataTable).move_cursor(row=target)
        await press(pilot, "enter")
        year = app.screen
        assert isinstance(year, YearScreen) and year.year is not None
        chosen = app.ctx.practice
        assert chosen is not None and chosen.ods_code == "D99003"
        assert "D99003" in str(app.sub_title)
        expected = year_dashboard(app.ctx.db, TODAY, practice_id=chosen.id)
        assert year.year.rows == expected.rows
        assert year.year.backlog == screen.overview.practices[2].backlog
        await press(pilot, "escape")
        assert isinstance(app.screen, HomeScreen) and len(app.screen_stack) == 1
        home = app.screen
        assert home.dashboard is not None
        assert home.dashboard.practice_name == "Canal Street Demo Practice"


async def test_palette_offers_switching_only_with_several_practices(
    pcn_url: str, demo_url: str, tmp_path: Path
) -> None:
    several = app_for(pcn_url, tmp_path / "a")
    async with several.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await choose(pilot, "D99004")
        titles = {c.title for c in several.get_system_commands(several.screen)}
        assert {"Switch practice", "PCN overview"} <= titles
    one = app_for(demo_url, tmp_path / "b")
    async with one.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = {c.title for c in one.get_system_commands(one.screen)}
        assert not {"Switch practice", "PCN overview"} & titles
        assert not one.screen.check_action("practice", ())  # the keys are off ...
        shown = {b.binding.description for b in one.screen.active_bindings.values()}
        assert "Practice" not in shown and "PCN" not in shown  # ... and not in the footer
        await press(pilot, "p", "o")
        assert isinstance(one.screen, HomeScreen) and len(one.screen_stack) == 1
        assert one.sub_title == "Riverside Demo Surgery"


class TestSnapshots:
    """The picker and the overview at 80x24, on the practice with the longest name."""

    def test_picker(self, snap_compare: SnapCompare, pcn_url: str) -> None:
        assert snap(snap_compare, pcn_url, "pcn_picker", ["down", "down", "down"])

    def test_overview(self, snap_compare: SnapCompare, pcn_url: str) -> None:
        keys = ["down", "down", "down", "enter", "o"]
        assert snap(snap_compare, pcn_url, "pcn_overview", keys)


async def test_overview_shows_whole_condition_names_at_120_columns(
    pcn_url: str, tmp_path: Path
) -> None:
    app = app_for(pcn_url, tmp_path / "out")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await choose(pilot, "D99001")
        await app.push_screen(PcnOverviewScreen())
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PcnOverviewScreen) and screen.rows
        table = screen.query_one(DataTable)
        longest = max(screen.rows, key=lambda r: len(r.name))
        assert longest.name == "Coronary heart disease" or len(longest.name) > 20
        table.move_cursor(row=screen.rows.index(longest))
        await settle(pilot)
        w, h = table.size.width, table.size.height
        shown = [s.text for s in table.render_lines(Region(0, 0, w, h))]
        assert any(longest.name in x for x in shown), shown
