"""The tidy-up (backfill) as the terminal UI shows it: the dry run with patient names, the
apply step with its worksheet, and plain words for each predicted status change."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from recall.domain.pca import SHORT_STATUS, PcaStatus
from recall.domain.qof_year import QofYear, qof_year_of
from recall.services.backfill import (
    BackfillApplyResult,
    BackfillItem,
    BackfillPlanResult,
    apply_backfill,
    plan_backfill,
)
from recall.services.catalogue import load_catalogue
from recall.services.infra.database import output_root
from recall.services.practices import practice_folder
from recall.store.db import Database
from recall.store.models import patient_t

ORDINAL = {1: "1st", 2: "2nd", 3: "3rd"}
_CHANGE = re.compile(r"^(?P<cond>[A-Z0-9]+): (?P<before>[a-z_]+) -> (?P<after>[a-z_]+)$")


@dataclass(frozen=True)
class BackfillView:
    plan: BackfillPlanResult
    names: dict[int, str]  # patient id -> "Given Family"
    year: QofYear
    last_year: bool
    condition_names: dict[str, str]

    def items_in(self, day: dt.date, code: str) -> list[BackfillItem]:
        return [i for i in self.plan.items if i.date == day and i.code == code]

    def label(self, day: dt.date, code: str) -> str:
        """ "1st letter code" or the condition's name, for a (date, code) group."""
        items = self.items_in(day, code)
        if not items:
            return ""
        first = items[0]
        if first.condition is None:
            return f"{ORDINAL.get(first.stage, first.stage)} letter code"
        return self.condition_names.get(first.condition, first.condition)


def _window(today: dt.date, last_year: bool) -> tuple[QofYear, dt.date | None, dt.date | None]:
    year = qof_year_of(today)
    if last_year:
        prev = year.previous()
        return prev, prev.start, prev.end
    return year, None, None


def load_backfill(
    db: Database, today: dt.date, *, last_year: bool = False, practice_id: int | None = None
) -> BackfillView:
    """The dry run for this QOF year so far (or the whole of last year); changes nothing."""
    year, start, end = _window(today, last_year)
    plan = plan_backfill(db, start, end, today=today, practice_id=practice_id)
    ids = sorted({i.patient_id for i in plan.items})
    names: dict[int, str] = {}
    if ids:
        p = patient_t
        with db.read() as session:
            for pid, given, family in session.execute(
                select(p.c.id, p.c.given_name, p.c.family_name).where(p.c.id.in_(ids))
            ):
                names[pid] = f"{given} {family}".strip()
    with db.read() as session:
        catalogue = load_catalogue(session, practice_id)
    cond_names = {c.key: c.name for c in catalogue}
    return BackfillView(plan, names, year, last_year, cond_names)


def worksheet_folder(out_dir: Path | None, db: Database, practice_id: int | None = None) -> Path:
    """Where tidy-up worksheets go: the app's output folder, else this database's folder (in
    the practice's sub-folder when the database holds several)."""
    base = out_dir or output_root(db)
    own = practice_folder(db, practice_id)
    return (base / own if own else base) / "worksheets"


def apply_tidy_up(
    db: Database,
    today: dt.date,
    *,
    last_year: bool = False,
    out_dir: Path | None = None,
    practice_id: int | None = None,
) -> BackfillApplyResult:
    """Record the planned codes (one transaction) and write the coding worksheet."""
    year, start, end = _window(today, last_year)
    folder = worksheet_folder(out_dir, db, practice_id)
    sheet = folder / f"tidy-up-{year.start_year}-{today.isoformat()}.csv"
    return apply_backfill(db, start, end, today=today, worksheet=sheet, practice_id=practice_id)


def plain_change(change: str | None) -> str:
    """`HF: invited_once -> pca_eligible` -> "invited once → can be excepted"."""
    if not change:
        return ""
    m = _CHANGE.match(change)
    if m is None:
        return change
    words = []
    for key in ("before", "after"):
        try:
            words.append(SHORT_STATUS[PcaStatus(m[key])])
        except ValueError:
            words.append(m[key].replace("_", " "))
    return f"{words[0]} → {words[1]}"
