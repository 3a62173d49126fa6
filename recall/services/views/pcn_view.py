"""The PCN overview: every practice x condition of a hub's database side by side: reviewed,
can be excepted, invited once, not invited, and each practice's 2nd-letter backlog.

Each practice's numbers are its own year dashboard's (so `recall pca --practice ODS`'s): the
practice's settings are read once and the registers and journal once for all practices
together (never one query per patient or per practice), and no count is worked out here a
second way: each practice's PCA pass is the one `recall pca` runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from recall.domain.pca import PcaStatus
from recall.services.practices import PracticeSummary, list_practices
from recall.services.views.year_view import NEED_SECOND, YearDashboard, year_dashboards
from recall.store.db import Database


@dataclass(frozen=True)
class PcnRow:
    """One practice's numbers for one condition."""

    practice: PracticeSummary
    condition: str
    name: str
    register: int
    reviewed: int
    can_be_excepted: int
    invited_once: int
    not_invited: int
    backlog: int  # invited once: a 2nd letter by the last safe date can except them
    pca_applies: bool = True  # False: nobody can be excepted this QOF year (n/a)
    ready: bool = True  # False: nobody can be excepted until the tool can code it (-)

    @property
    def key(self) -> str:
        """A table row key: `ODS:CONDITION`."""
        return f"{self.practice.ods_code}:{self.condition}"


@dataclass(frozen=True)
class PracticeYear:
    """One practice's year dashboard, as the overview read it."""

    practice: PracticeSummary
    dashboard: YearDashboard

    @property
    def backlog(self) -> int:
        return self.dashboard.backlog


@dataclass(frozen=True)
class PcnOverview:
    as_of: dt.date
    qof_year: str
    practices: tuple[PracticeYear, ...]
    rows: tuple[PcnRow, ...]  # practice by ODS code, conditions in catalogue order

    @property
    def backlog(self) -> int:
        return sum(p.backlog for p in self.practices)


def _rows(year: PracticeYear) -> list[PcnRow]:
    return [
        PcnRow(
            practice=year.practice,
            condition=r.key,
            name=r.name,
            register=r.register,
            reviewed=r.counts[PcaStatus.ACHIEVED.value],
            can_be_excepted=r.counts[PcaStatus.PCA_ELIGIBLE.value],
            invited_once=r.counts[PcaStatus.INVITED_ONCE.value],
            not_invited=r.counts[PcaStatus.NOT_INVITED.value],
            backlog=r.counts[NEED_SECOND],
            pca_applies=r.pca_applies,
            ready=r.ready,
        )
        for r in year.dashboard.rows
    ]


def pcn_overview(db: Database, today: dt.date | None = None) -> PcnOverview:
    """The overview of every practice for the QOF year containing `today`."""
    as_of = today or dt.date.today()
    practices = list_practices(db)
    dashboards = year_dashboards(db, as_of, [p.id for p in practices])
    years = tuple(PracticeYear(p, dashboards[p.id]) for p in practices)
    qof_year = years[0].dashboard.qof_year if years else ""
    return PcnOverview(
        as_of=as_of,
        qof_year=qof_year,
        practices=years,
        rows=tuple(row for y in years for row in _rows(y)),
    )
