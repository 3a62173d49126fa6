"""The year dashboard: each condition's register split by PCA status, the 2nd-letter backlog
and the patients behind any number, with an export of that list.

The counts are `recall pca`'s own (`pca_report`), so the screen and the CLI can never
disagree; the patient lists come from the same per-patient rule (`pca_for_session`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from recall.domain.pca import PLAIN_STATUS, PcaResult, PcaStatus, can_still_become_eligible
from recall.domain.qof_year import qof_year_of
from recall.outputs import write_file
from recall.services.catalogue import load_catalogue
from recall.services.errors import NotFound
from recall.services.history import pca_for_session
from recall.services.infra.database import database_id, output_root
from recall.services.infra.files import protected_for, writing
from recall.services.infra.operator import current_operator
from recall.services.pca_report import ConditionCounts, PcaReport, pca_report, pca_reports
from recall.services.practice_scope import resolve_practice_id
from recall.services.practices import practice_folder
from recall.services.worksheet import safe_cell
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.patients_repo import patient_labels

NOT_CODEABLE = "not_codeable"
NEED_SECOND = "need_second"

# (column id, header shown on screen, plain meaning) in the order the table shows them
COLUMNS: tuple[tuple[str, str, str], ...] = (
    (PcaStatus.ACHIEVED.value, "Reviewed", PLAIN_STATUS[PcaStatus.ACHIEVED]),
    (PcaStatus.PCA_ELIGIBLE.value, "Can be\nexcepted", PLAIN_STATUS[PcaStatus.PCA_ELIGIBLE]),
    (PcaStatus.INVITED_ONCE.value, "Invited\nonce", PLAIN_STATUS[PcaStatus.INVITED_ONCE]),
    (
        PcaStatus.INVALID_INTERVAL.value,
        "Too\nclose",
        PLAIN_STATUS[PcaStatus.INVALID_INTERVAL],
    ),
    (PcaStatus.GENERIC_ONLY.value, "Generic\nonly", PLAIN_STATUS[PcaStatus.GENERIC_ONLY]),
    (PcaStatus.NOT_INVITED.value, "Not\ninvited", PLAIN_STATUS[PcaStatus.NOT_INVITED]),
    (
        NOT_CODEABLE,
        "Not yet\ncodeable",
        "not reviewed or excepted, and the tool cannot code this condition yet (press c on Home)",
    ),
    (NEED_SECOND, "2nd\ndue", "invited once: a 2nd letter by the last safe date can except them"),
)
COLUMN_IDS = tuple(c[0] for c in COLUMNS)
MEANING = {c[0]: c[2] for c in COLUMNS}


@dataclass(frozen=True)
class YearRow:
    """One condition's line: `counts` holds every column id."""

    key: str
    name: str
    ready: bool
    readiness_reason: str
    register: int
    counts: dict[str, int]
    qof_note: str = ""  # why this year excepts none of its patients by invitation
    pca_applies: bool = True  # False: "can be excepted" and "2nd due" are not applicable
    need_second_when_codeable: int = 0  # not yet codeable: the 2nd-letter backlog once it is


@dataclass(frozen=True)
class YearDashboard:
    as_of: dt.date
    qof_year: str
    year_end: dt.date
    last_safe_date: dt.date  # the last weekday a 2nd letter can be sent and still count
    rows: tuple[YearRow, ...]

    @property
    def backlog(self) -> int:
        return sum(r.counts[NEED_SECOND] for r in self.rows)


@dataclass(frozen=True)
class CellPatient:
    """One patient behind a number on the year dashboard."""

    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    condition: str
    status: str
    invitations: tuple[dt.date, ...]
    earliest_second: dt.date | None
    review_date: dt.date | None

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


def last_safe_date(year_end: dt.date) -> dt.date:
    """The last weekday on or before 31 March: letters are posted and coded on working days."""
    day = year_end
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _row(c: ConditionCounts) -> YearRow:
    """`recall pca`'s counts; "can be excepted" is its `can_be_excepted` and "2nd due" its
    `need_second_by_year_end` (none where PCA does not apply this year, or the tool cannot
    code the condition: those are not yet codeable)."""
    counts = dict(c.counts)
    counts[PcaStatus.PCA_ELIGIBLE.value] = c.can_be_excepted
    counts[NOT_CODEABLE] = 0 if c.ready else c.register - counts[PcaStatus.ACHIEVED.value]
    counts[NEED_SECOND] = c.need_second_by_year_end
    return YearRow(
        c.key,
        c.name,
        c.ready,
        c.readiness_reason,
        c.register,
        counts,
        qof_note=c.qof_note,
        pca_applies=c.pca_applies,
        need_second_when_codeable=c.need_second_when_codeable,
    )


def year_dashboard(
    db: Database, today: dt.date | None = None, *, practice_id: int | None = None
) -> YearDashboard:
    """The table for the QOF year containing `today`, from `recall pca`'s counts."""
    return _dashboard(pca_report(db, today, practice_id=practice_id))


def year_dashboards(
    db: Database, today: dt.date, practice_ids: Iterable[int]
) -> dict[int, YearDashboard]:
    """`year_dashboard` for several practices (practice id -> dashboard), read together."""
    return {pid: _dashboard(r) for pid, r in pca_reports(db, today, practice_ids).items()}


def _dashboard(report: PcaReport) -> YearDashboard:
    return YearDashboard(
        as_of=report.as_of,
        qof_year=report.qof_year,
        year_end=report.year_end,
        last_safe_date=last_safe_date(report.year_end),
        rows=tuple(_row(c) for c in report.conditions.values() if c.register),
    )


def _in_cell(
    result: PcaResult, column: str, ready: bool, year_end: dt.date, pca_applies: bool = True
) -> bool:
    if column == NEED_SECOND:  # as `recall pca` counts them: only where a 2nd letter counts
        return pca_applies and ready and can_still_become_eligible(result, qof_year_of(year_end))
    if column == NOT_CODEABLE:
        return not ready and result.status is not PcaStatus.ACHIEVED
    if column == PcaStatus.PCA_ELIGIBLE.value and not (ready and pca_applies):
        return False  # nobody can be excepted (see `_row`)
    return result.status.value == column


def cell_patients(
    db: Database,
    condition: str,
    column: str,
    today: dt.date | None = None,
    *,
    practice_id: int | None = None,
) -> list[CellPatient]:
    """The patients counted in one cell of the year dashboard, by family name."""
    if column not in COLUMN_IDS:
        raise NotFound(f"no column {column!r} on the year dashboard")
    as_of = today or dt.date.today()
    year = qof_year_of(as_of)
    with db.read() as session:
        pid = resolve_practice_id(session, practice_id)
        catalogue = load_catalogue(session, pid)
        if condition not in catalogue.conditions:
            raise NotFound(f"no condition {condition!r} in the catalogue")
        cond = catalogue.conditions[condition]
        ready = cond.readiness(catalogue.profile).ready
        applies = catalogue.year_profile(year).pca_applies(condition)
        results = pca_for_session(session, practice_id=pid, catalogue=catalogue, as_of=as_of)
        chosen = {
            patient: r
            for (patient, key), r in results.items()
            if key == condition and _in_cell(r, column, ready, year.end, applies)
        }
        labels = patient_labels(session, list(chosen))
    out = [
        CellPatient(
            *labels[patient],
            condition=condition,
            status=r.status.value,
            invitations=r.invitations,
            earliest_second=r.earliest_second,
            review_date=r.review_date,
        )
        for patient, r in chosen.items()
    ]
    return sorted(out, key=lambda p: (p.family_name.lower(), p.given_name.lower(), p.nhs_number))


EXPORT_COLUMNS = (
    "nhs_number",
    "family_name",
    "given_name",
    "date_of_birth",
    "condition",
    "status",
    "invitations",
    "earliest_second",
    "review_date",
)


def export_cell(
    db: Database,
    condition: str,
    column: str,
    today: dt.date | None = None,
    *,
    out_dir: Path | None = None,
    operator: str | None = None,
    practice_id: int | None = None,
) -> tuple[Path, int]:
    """Write one cell's patients as a CSV (0600, formula-safe) and audit it (no names logged).

    Goes to `out_dir` or this database's own output folder (in the practice's sub-folder
    when the database holds several), under `year-lists/`; writing the same list again
    replaces the file recall wrote before.
    """
    as_of = today or dt.date.today()
    patients = cell_patients(db, condition, column, as_of, practice_id=practice_id)
    own = practice_folder(db, practice_id)
    base = out_dir or output_root(db)
    folder = (base / own if own else base) / "year-lists"
    path = folder / f"{condition}-{column}-{as_of.isoformat()}.csv"

    def fill(fh: BinaryIO) -> None:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
        w = csv.writer(text)
        w.writerow(EXPORT_COLUMNS)
        for p in patients:
            w.writerow(
                [
                    safe_cell(v)
                    for v in (
                        p.nhs_number,
                        p.family_name,
                        p.given_name,
                        p.date_of_birth.isoformat(),
                        p.condition,
                        p.status,
                        " ".join(d.isoformat() for d in p.invitations),
                        p.earliest_second.isoformat() if p.earliest_second else "",
                        p.review_date.isoformat() if p.review_date else "",
                    )
                ]
            )
        text.flush()
        text.detach()

    owner = f"{database_id(db)}/year-lists"
    with writing():
        written = write_file(path, fill, owner=owner, protected=protected_for(db))
    with db.write() as session:
        append_audit(
            session,
            operator=operator or current_operator(),
            action="year_list.export",
            practice_id=resolve_practice_id(session, practice_id),
            details={"condition": condition, "column": column, "rows": len(patients)},
        )
    return written, len(patients)
