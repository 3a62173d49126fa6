"""The year dashboard: its numbers are `recall pca --json`'s on the demo practice, every number
opens the patients behind it, and that list exports as a private, formula-safe CSV."""

from __future__ import annotations

import csv
import json
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import (
    TODAY,
    app_for,
    press,
    settle,
)
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from recall.cli import main
from recall.domain.pca import STATUS_ORDER, PcaStatus
from recall.services.views.dashboard import pca_bars
from recall.services.views.year_view import (
    COLUMN_IDS,
    NEED_SECOND,
    NOT_CODEABLE,
    cell_patients,
    export_cell,
    last_safe_date,
    year_dashboard,
)
from recall.store.db import Database
from recall.tui.screens.home import bar_parts
from recall.tui.screens.year import YearCellScreen, YearScreen
from recall.tui.words import plural

SnapCompare = Callable[..., bool]


def pca_json(url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["--db", url, "pca", "--as-of", TODAY.isoformat(), "--json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_counts_equal_recall_pca_json(demo_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = pca_json(demo_url, capsys)
    db = Database(demo_url)
    try:
        year = year_dashboard(db, TODAY)
    finally:
        db.dispose()
    assert year.qof_year == doc["qof_year"]
    with_register = {k: c for k, c in doc["conditions"].items() if c["register"]}
    assert [r.key for r in year.rows] == list(with_register)
    for r in year.rows:
        c = with_register[r.key]
        assert r.register == c["register"]
        for status in STATUS_ORDER:
            if status is not PcaStatus.PCA_ELIGIBLE:
                assert r.counts[status.value] == c[status.value], (r.key, status)
        # "can be excepted" only where this year's PCA applies and the tool can code it
        assert r.counts["pca_eligible"] == c["can_be_excepted"]
        assert c["can_be_excepted"] == (c["pca_eligible"] if c["pca_applies"] and c["ready"] else 0)
        assert r.pca_applies == c["pca_applies"]
        assert r.counts[NEED_SECOND] == c["need_second_by_year_end"]
        # "2nd due" likewise: a 2nd letter excepts nobody where PCA does not apply or the
        # condition is not yet codeable; the latter's backlog-to-be is counted apart
        assert c["need_second_applies"] == (c["pca_applies"] and c["ready"])
        if not c["need_second_applies"]:
            assert c["need_second_by_year_end"] == 0
        assert r.need_second_when_codeable == c["need_second_when_codeable"]
        assert c["need_second_when_codeable"] == 0 or (c["pca_applies"] and not c["ready"])
        stuck = c["register"] - c["achieved"]
        assert r.counts[NOT_CODEABLE] == (0 if c["ready"] else stuck)
    assert year.backlog == doc["need_second_by_year_end"]
    waiting = sum(c["need_second_when_codeable"] for c in doc["conditions"].values())
    assert doc["need_second_when_codeable"] == waiting > 0  # AF and HF invited once
    assert year.last_safe_date.isoformat() == "2027-03-31"  # a Wednesday


def test_nothing_can_be_excepted_where_pca_does_not_apply_or_coding_cannot(
    demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Depression (no QOF exception from 2025/26) and a condition the tool cannot code yet
    (heart failure: provisional) have patients invited twice, yet none can be excepted: the
    year dashboard, its lists and `recall pca` all say so."""
    doc = pca_json(demo_url, capsys)
    depr, hf = doc["conditions"]["DEPR"], doc["conditions"]["HF"]
    assert depr["pca_eligible"] > 0 and not depr["pca_applies"] and depr["can_be_excepted"] == 0
    assert hf["pca_eligible"] > 0 and not hf["ready"] and hf["can_be_excepted"] == 0
    db = Database(demo_url)
    try:
        rows = {r.key: r for r in year_dashboard(db, TODAY).rows}
        for key in ("DEPR", "HF"):
            assert rows[key].counts["pca_eligible"] == 0
            assert cell_patients(db, key, "pca_eligible", TODAY) == []
            assert cell_patients(db, key, NEED_SECOND, TODAY) == []
            assert rows[key].counts[NEED_SECOND] == 0
        # heart failure has patients invited once, but no 2nd letter can except them yet
        assert hf["need_second_by_year_end"] == 0 < hf["need_second_when_codeable"]
        assert rows["HF"].counts[NOT_CODEABLE] == hf["register"] - hf["achieved"]
        assert len(cell_patients(db, "HF", NOT_CODEABLE, TODAY)) == rows["HF"].counts[NOT_CODEABLE]
    finally:
        db.dispose()
    assert main(["--db", demo_url, "pca", "--as-of", TODAY.isoformat()]) == 0
    lines = {ln.split()[0]: ln.split() for ln in capsys.readouterr().out.splitlines() if ln}
    assert lines["DEPR"][3] == "n/a" and lines["HF"][3] == "n/a"
    assert lines["HYP"][3] == f"{rows['HYP'].counts['pca_eligible']:,}"
    need_second = 2 + len(STATUS_ORDER)  # key, register, the statuses, then "Need 2nd"
    assert lines["DEPR"][need_second] == "n/a" and lines["HF"][need_second] == "n/a"
    assert lines["HYP"][need_second] == f"{rows['HYP'].counts[NEED_SECOND]:,}"


def test_last_safe_date_is_a_weekday() -> None:
    import datetime as dt

    assert last_safe_date(dt.date(2029, 3, 31)) == dt.date(2029, 3, 30)  # Saturday -> Friday
    assert last_safe_date(dt.date(2030, 3, 31)) == dt.date(2030, 3, 29)  # Sunday -> Friday


def test_cell_lists_match_their_numbers(demo_url: str) -> None:
    db = Database(demo_url)
    try:
        year = year_dashboard(db, TODAY)
        rows = {r.key: r for r in year.rows}
        for key, column in [("HYP", c) for c in COLUMN_IDS] + [("AF", NOT_CODEABLE)]:
            patients = cell_patients(db, key, column, TODAY)
            assert len(patients) == rows[key].counts[column], (key, column)
        backlog = cell_patients(db, "HYP", NEED_SECOND, TODAY)
        assert all(p.earliest_second and p.earliest_second <= year.year_end for p in backlog)
    finally:
        db.dispose()


def test_export_is_private_and_formula_safe(demo_url: str, tmp_path: Path) -> None:
    db = Database(demo_url)
    try:
        path, rows = export_cell(db, "HYP", "invited_once", TODAY, out_dir=tmp_path)
        again, _ = export_cell(db, "HYP", "invited_once", TODAY, out_dir=tmp_path)
    finally:
        db.dispose()
    assert again == path  # re-exporting replaces recall's own file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) == rows > 0
    assert {ln["status"] for ln in lines} == {"invited_once"}
    assert all(len(ln["nhs_number"]) == 10 for ln in lines)


async def test_home_key_table_drill_down_and_export(demo_url: str, tmp_path: Path) -> None:
    db = Database(demo_url)
    try:
        year = year_dashboard(db, TODAY)
    finally:
        db.dispose()
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "y")
        screen = app.screen
        assert isinstance(screen, YearScreen)
        table = screen.query_one(DataTable)
        hyp = next(i for i, r in enumerate(year.rows) if r.key == "HYP")
        once = 1 + COLUMN_IDS.index("invited_once")
        shown = str(table.get_cell_at(Coordinate(hyp, once))).strip()
        assert shown == f"{year.rows[hyp].counts['invited_once']:,}"
        table.cursor_coordinate = table.validate_cursor_coordinate(Coordinate(hyp, once))
        await settle(pilot)
        await press(pilot, "enter")
        cell = app.screen
        assert isinstance(cell, YearCellScreen)
        assert len(cell.patients) == year.rows[hyp].counts["invited_once"]
        await press(pilot, "e")
        files = list((tmp_path / "out" / "year-lists").glob("HYP-invited_once-*.csv"))
        assert len(files) == 1
        await press(pilot, "escape", "escape")
        assert not isinstance(app.screen, YearScreen | YearCellScreen)


async def test_second_due_says_n_a_or_dash_where_a_2nd_letter_excepts_nobody(
    demo_url: str, tmp_path: Path
) -> None:
    """The year screen's "2nd due", like "can be excepted": n/a for depression (no PCA this
    QOF year), "-" for heart failure (not yet codeable) with the reason under the table, a
    count for hypertension; Enter on n/a or "-" opens no list."""
    db = Database(demo_url)
    try:
        year = year_dashboard(db, TODAY)
    finally:
        db.dispose()
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "y")
        screen = app.screen
        assert isinstance(screen, YearScreen)
        table = screen.query_one(DataTable)
        where = {r.key: i for i, r in enumerate(year.rows)}
        second = 1 + COLUMN_IDS.index(NEED_SECOND)
        eligible = 1 + COLUMN_IDS.index("pca_eligible")

        def shown(key: str, column: int) -> str:
            return str(table.get_cell_at(Coordinate(where[key], column))).strip()

        assert shown("DEPR", second) == shown("DEPR", eligible) == "n/a"
        assert shown("HF", second) == shown("HF", eligible) == "-"
        assert shown("HYP", second) == f"{year.rows[where['HYP']].counts[NEED_SECOND]:,}"
        table.cursor_coordinate = Coordinate(where["HF"], second)
        await settle(pilot)
        text = str(screen.query_one("#year-cell", Static).render())
        assert "2nd due: none until it can be coded" in text
        later = plural(year.rows[where["HF"]].need_second_when_codeable, "patient")
        assert f"{later} invited once would then be due one" in text
        await press(pilot, "enter")
        assert app.screen is screen  # nobody behind a "-"
        table.cursor_coordinate = Coordinate(where["DEPR"], second)
        await settle(pilot)
        text = str(screen.query_one("#year-cell", Static).render())
        assert "2nd due: n/a, PCA does not apply this QOF year" in text
        backlog = str(screen.query_one("#year-backlog", Static).render())
        assert f"{year.backlog:,} patient-conditions" in backlog


async def test_palette_offers_the_year_dashboard(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Year dashboard" in titles


class TestYearSnapshots:
    def test_year(self, snap_compare: SnapCompare, demo_url: str, tmp_path: Path) -> None:
        async def run_before(pilot: Any) -> None:
            await settle(pilot)
            await press(pilot, "y", "right", "right")

        app = app_for(demo_url, tmp_path / "out")
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

    def test_cell(self, snap_compare: SnapCompare, demo_url: str, tmp_path: Path) -> None:
        async def run_before(pilot: Any) -> None:
            await settle(pilot)
            await press(pilot, "y", "down", "down", "right", "right", "right", "enter")

        folder = Path("/tmp/recall-snapshots/year-cell")  # shown on screen: a fixed path
        shutil.rmtree(folder, ignore_errors=True)
        app = app_for(demo_url, folder)
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_home_draws_too_close_and_generic_only_invitations_as_invited(demo_url: str) -> None:
    """Home's bar: a patient invited in a way that does not count yet was still invited."""
    db = Database(demo_url)
    try:
        bars = pca_bars(db, TODAY)
    finally:
        db.dispose()
    assert any(b.other for b in bars), "the demo has generic-only and too-close invitations"
    for b in bars:
        parts = bar_parts(b)
        assert parts["not_invited"] == b.not_invited
        assert parts["invited"] == b.invited_once + b.invited_twice + b.other
        assert sum(parts.values()) == b.register, b.key
