"""The patient screen says each condition's care in whole sentences at 80x24: the latest reading
in or out of target with its date, the care done and when, the invitations that do not count
before an out-of-target reading, a full review's parts, and what this QOF year asks (no QOF
invitation code for depression from 2025/26). Pilot on the demo practice, plus a snapshot of
the longest real message."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import pca_statuses
from sqlalchemy import select
from test_tui_support import TODAY, app_for, settle
from textual.widgets import DataTable

from recall.domain.pca import PcaStatus
from recall.services.patients import patient_view
from recall.services.views.patient_detail import condition_lines
from recall.services.views.year_view import cell_patients
from recall.store.db import Database
from recall.store.models import patient_t
from recall.tui.screens.patients import PatientScreen

SnapCompare = Callable[..., bool]


def _nhs(db: Database, pid: int) -> str:
    with db.read() as s:
        return str(s.scalar(select(patient_t.c.nhs_number).where(patient_t.c.id == pid)))


def _pick(url: str) -> dict[str, str]:
    """Demo patients for each kind of care message."""
    db = Database(url)
    try:
        pca = pca_statuses(db, TODAY)
        high = next(
            pid
            for (pid, cond), r in pca.items()
            if cond == "HYP" and r.out_of_target_on is not None and r.not_counted
        )
        fine = next(
            pid
            for (pid, cond), r in pca.items()
            if cond == "HYP" and r.status is PcaStatus.ACHIEVED and "in target" in r.care
        )
        asthma = next(
            pid
            for (pid, cond), r in pca.items()
            if cond == "AST" and r.status is PcaStatus.ACHIEVED
        )
        depr = next(pid for (pid, cond), r in pca.items() if cond == "DEPR" and r.invitations)
        return {
            "high": _nhs(db, high),
            "fine": _nhs(db, fine),
            "asthma": _nhs(db, asthma),
            "depr": _nhs(db, depr),
        }
    finally:
        db.dispose()


async def _detail(pilot: Any, condition: str) -> str:
    screen = pilot.app.screen
    assert isinstance(screen, PatientScreen) and screen.view is not None
    table = screen.query_one("#conditions", DataTable)
    table.move_cursor(row=list(screen.view.status).index(condition))
    await settle(pilot)
    widget = screen.query_one("#condition-detail")
    # said whole, above the footer: nothing of it is cut off at 80x24
    assert widget.region.bottom <= 23
    assert widget.region.height >= len(str(widget.render()).splitlines())
    return " ".join(str(widget.render()).split())


async def test_patient_screen_shows_care_readings_and_the_qof_year(
    demo_url: str, tmp_path: Path
) -> None:
    who = _pick(demo_url)
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(PatientScreen(who["high"]))
        await settle(pilot)
        text = await _detail(pilot, "HYP")
        assert "Latest blood pressure" in text and "out of target (over 140/90)" in text
        assert "do not count (reading out of target)" in text
        assert "QOF 2026/27: two invitations 7 or more days apart" in text

        app.push_screen(PatientScreen(who["fine"]))
        await settle(pilot)
        text = await _detail(pilot, "HYP")
        assert "in target (at or under" in text and "care is done this year" in text

        app.push_screen(PatientScreen(who["asthma"]))
        await settle(pilot)
        text = await _detail(pilot, "AST")
        assert "Care done this year on" in text
        assert "asthma control assessment" in text and "written asthma plan" in text

        app.push_screen(PatientScreen(who["depr"]))
        await settle(pilot)
        text = await _detail(pilot, "DEPR")
        assert "no QOF code is needed and PCA does not apply" in text
        table = app.screen.query_one("#conditions", DataTable)
        row = list(app.screen.view.status).index("DEPR")  # type: ignore[attr-defined]
        assert "no QOF this year" in [str(c) for c in table.get_row_at(row)]


def _longest(url: str) -> tuple[str, str]:
    """The demo patient and condition whose care message wraps to the most lines at 80."""
    db = Database(url)
    try:
        best: tuple[int, str, str] = (0, "", "")
        for cond in ("CHD", "STIA", "HYP", "AST", "DEPR"):
            for c in cell_patients(db, cond, "achieved", TODAY)[:20]:
                view = patient_view(db, c.nhs_number, TODAY)
                n = sum(len(textwrap.wrap(x, 78)) for x in condition_lines(view.status[cond]))
                best = max(best, (n, c.nhs_number, cond))
        return best[1], best[2]
    finally:
        db.dispose()


def test_longest_care_message_snapshot(snap_compare: SnapCompare, demo_url: str) -> None:
    nhs, cond = _longest(demo_url)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.push_screen(PatientScreen(nhs))
        await settle(pilot)
        await _detail(pilot, cond)

    app = app_for(demo_url, Path("/tmp/recall-snapshots/patient-care"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
