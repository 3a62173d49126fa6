"""The PCN overview gives each practice the numbers its own year dashboard and `recall pca`
give, and each practice only its own patients."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from sqlalchemy import and_, func, or_, select

from recall.cli import main
from recall.services.demo import build_demo
from recall.services.pca_report import pca_report
from recall.services.practices import list_practices
from recall.services.views.pcn_view import pcn_overview
from recall.services.views.year_view import year_dashboard
from recall.store.db import Database
from recall.store.models import patient_t, register_t

TODAY = dt.date(2026, 11, 27)


def _registers(db: Database, practice_id: int) -> Counter[str]:
    """Alive, registered patients on each register today, counted straight from the tables."""
    p, rg = patient_t, register_t
    q = (
        select(rg.c.condition, func.count())
        .join(p, p.c.id == rg.c.patient_id)
        .where(
            p.c.practice_id == practice_id,
            or_(p.c.date_of_death.is_(None), p.c.date_of_death > TODAY),
            or_(p.c.deregistered_on.is_(None), p.c.deregistered_on > TODAY),
            or_(p.c.registered_on.is_(None), p.c.registered_on <= TODAY),
            and_(
                or_(rg.c.diagnosed_on.is_(None), rg.c.diagnosed_on <= TODAY),
                or_(rg.c.resolved_on.is_(None), rg.c.resolved_on > TODAY),
            ),
        )
        .group_by(rg.c.condition)
    )
    with db.read() as s:
        return Counter({str(c): int(n) for c, n in s.execute(q)})


def _cli_pca(db: Database, ods: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    """`recall pca --json --practice ODS`, as scripts read it."""
    args = ["pca", "--as-of", TODAY.isoformat(), "--json", "--practice", ods, "--db", db.url]
    capsys.readouterr()
    assert main(args) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def test_overview_equals_each_practices_dashboard_and_pca(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    build_demo(db, patients=1200, seed=8, today=TODAY, pcn=True)
    overview = pcn_overview(db, TODAY)
    practices = list_practices(db)
    assert [y.practice for y in overview.practices] == practices and len(practices) == 4
    assert overview.qof_year == "2026/27"
    registers_seen = set()
    for year in overview.practices:
        pid = year.practice.id
        report = pca_report(db, TODAY, practice_id=pid).as_json()
        assert _cli_pca(db, year.practice.ods_code, capsys) == json.loads(json.dumps(report))
        dashboard = year_dashboard(db, TODAY, practice_id=pid)
        rows = [r for r in overview.rows if r.practice == year.practice]
        assert [r.condition for r in rows] == [r.key for r in dashboard.rows]
        assert year.backlog == dashboard.backlog == report["need_second_by_year_end"]
        for row in rows:
            c = report["conditions"][row.condition]
            assert (
                row.register,
                row.reviewed,
                row.can_be_excepted,
                row.invited_once,
                row.not_invited,
                row.backlog,
                row.pca_applies and row.ready,
            ) == (
                c["register"],
                c["achieved"],
                c["can_be_excepted"],  # none where PCA does not apply or coding cannot
                c["invited_once"],
                c["not_invited"],
                c["need_second_by_year_end"],  # likewise
                c["need_second_applies"],  # the screen shows n/a or - then, not a count
            )
        # only this practice's patients: its registers, counted straight from the tables
        on_registers = {r.condition: r.register for r in rows}
        assert on_registers == {k: n for k, n in _registers(db, pid).items() if k in on_registers}
        registers_seen.add(tuple(sorted(on_registers.items())))
    assert len(registers_seen) == 4  # four different practices, not one shown four times
    assert overview.backlog == sum(r.backlog for r in overview.rows) > 0
    assert all(r.reviewed and r.invited_once for r in overview.rows if r.condition == "HYP")


def test_overview_of_a_single_practice(db: Database) -> None:
    build_demo(db, patients=300, seed=2, today=TODAY)
    overview = pcn_overview(db, TODAY)
    assert len(overview.practices) == 1
    assert overview.backlog == pca_report(db, TODAY).need_second_by_year_end
