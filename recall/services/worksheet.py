"""The coding worksheet: what staff must add in the clinical system, grouped by (date, code).

SystmOne and EMIS bulk-add one code on one date to a list of patients, so the worksheet is
sorted and grouped that way. The CSV is formula-injection safe (spreadsheets run cells that
start with = + - @ TAB or CR); both files are written 0600 because they name patients.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from recall.outputs import OutputSet, Protected, write_file
from recall.services.errors import NotFound, RecallError
from recall.services.infra.database import database_id
from recall.services.infra.files import protected_for, writing
from recall.services.infra.operator import current_operator
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.models import batch_t, patient_t, recorded_code_t

COLUMNS = ("date", "code", "term", "nhs_number", "family_name", "given_name", "condition")
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class WorksheetRow:
    date: dt.date
    code: str
    term: str
    nhs_number: str
    family_name: str
    given_name: str
    condition: str | None

    def sort_key(self) -> tuple[dt.date, str, str, str, str]:
        return (self.date, self.code, self.family_name, self.given_name, self.nhs_number)


@dataclass(frozen=True)
class WorksheetGroup:
    date: dt.date
    code: str
    term: str
    rows: tuple[WorksheetRow, ...]

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class WorksheetFiles:
    csv: Path | None
    docx: Path | None
    rows: int
    groups: list[WorksheetGroup]


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will show as text, never run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_DANGEROUS) else text


def rows_from(items: Iterable[Any]) -> list[WorksheetRow]:
    """Worksheet rows from anything with date, code, term, nhs_number, family_name,
    given_name and condition attributes (confirm's CodeLine, backfill items, ...)."""
    out = [
        WorksheetRow(
            date=i.date,
            code=i.code,
            term=getattr(i, "term", "") or "",
            nhs_number=i.nhs_number,
            family_name=i.family_name,
            given_name=i.given_name,
            condition=getattr(i, "condition", None),
        )
        for i in items
    ]
    return sorted(set(out), key=WorksheetRow.sort_key)


def group_rows(rows: Sequence[WorksheetRow]) -> list[WorksheetGroup]:
    """Rows grouped by (date, code), in date then code order."""
    groups: dict[tuple[dt.date, str], list[WorksheetRow]] = {}
    for r in sorted(rows, key=WorksheetRow.sort_key):
        groups.setdefault((r.date, r.code), []).append(r)
    return [
        WorksheetGroup(day, code, next((r.term for r in rs if r.term), ""), tuple(rs))
        for (day, code), rs in groups.items()
    ]


def worksheet_rows(
    db: Database,
    *,
    batch_id: int | None = None,
    backfill_run_id: int | None = None,
    code_ids: Sequence[int] | None = None,
    unreconciled_only: bool = False,
) -> list[WorksheetRow]:
    """Live recorded codes of a batch, a backfill run or an explicit id list."""
    if batch_id is None and backfill_run_id is None and code_ids is None:
        raise RecallError("say which batch, backfill run or codes the worksheet is for")
    r, p = recorded_code_t, patient_t
    q = (
        select(
            r.c.date,
            r.c.code,
            r.c.term,
            p.c.nhs_number,
            p.c.family_name,
            p.c.given_name,
            r.c.condition,
        )
        .join(p, p.c.id == r.c.patient_id)
        .where(r.c.voided.is_(False))
    )
    with db.read() as session:
        if batch_id is not None:
            if (
                session.execute(select(batch_t.c.id).where(batch_t.c.id == batch_id)).first()
                is None
            ):
                raise NotFound(f"no batch {batch_id}")
            q = q.where(r.c.batch_id == batch_id)
        if backfill_run_id is not None:
            q = q.where(r.c.backfill_run_id == backfill_run_id)
        if code_ids is not None:
            q = q.where(r.c.id.in_(list(code_ids)))
        if unreconciled_only:
            q = q.where(r.c.reconciled.is_(False))
        rows = [WorksheetRow(*row) for row in session.execute(q)]
    return sorted(rows, key=WorksheetRow.sort_key)


def check_worksheet_path(
    path: Path, owner: str, *, force: bool = False, protected: Protected | None = None
) -> None:
    """Refuse now, before anything is recorded, a worksheet path that could not be written."""
    with writing():
        OutputSet(path.parent, owner, force=force, protected=protected).check([path.name])


def write_worksheet_csv(
    rows: Sequence[WorksheetRow],
    path: Path,
    *,
    owner: str = "worksheet",
    force: bool = False,
    protected: Protected | None = None,
) -> Path:
    """Write the worksheet CSV (formats.md columns, sorted by date then code), mode 0600.

    Written whole to a temp file and renamed: a full disk leaves the previous file as it was.
    """

    def fill(fh: BinaryIO) -> None:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
        w = csv.writer(text)
        w.writerow(COLUMNS)
        for r in sorted(rows, key=WorksheetRow.sort_key):
            w.writerow(
                [
                    safe_cell(r.date.isoformat()),
                    safe_cell(r.code),
                    safe_cell(r.term),
                    safe_cell(r.nhs_number),
                    safe_cell(r.family_name),
                    safe_cell(r.given_name),
                    safe_cell(r.condition or ""),
                ]
            )
        text.flush()
        text.detach()

    with writing():
        return write_file(path, fill, owner=owner, force=force, protected=protected)


def write_worksheet_docx(
    rows: Sequence[WorksheetRow],
    path: Path,
    title: str = "Coding worksheet",
    *,
    owner: str = "worksheet",
    force: bool = False,
    protected: Protected | None = None,
) -> Path:
    """A printable worksheet: one section per (date, code) with a tick column, mode 0600."""
    from docx import Document
    from docx.shared import Mm, Pt

    from recall.domain.nhs import format_nhs_number
    from recall.domain.text import printable

    doc = Document()
    for section in doc.sections:  # python-docx's default is US Letter; practices print A4
        section.page_width, section.page_height = Mm(210), Mm(297)
    doc.add_heading(title, level=1)
    groups = group_rows(rows)
    doc.add_paragraph(
        f"{len(rows)} codes in {len(groups)} groups. In the clinical system, for each group "
        "add the code below to every patient listed, dated exactly as shown, then tick."
    )
    for g in groups:
        doc.add_heading(
            printable(
                f"{g.date.strftime('%d/%m/%Y')} — {g.code} {g.term} "
                f"({g.count} patient{'' if g.count == 1 else 's'})"
            ),
            level=2,
        )
        table = doc.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        for cell, text in zip(
            table.rows[0].cells, ("NHS number", "Name", "Condition", "Done"), strict=True
        ):
            cell.text = text
        for r in g.rows:
            cells = table.add_row().cells
            cells[0].text = format_nhs_number(r.nhs_number)
            # stored names may hold control characters Word XML cannot (older imports)
            cells[1].text = printable(f"{r.family_name}, {r.given_name}")
            cells[2].text = r.condition or "LTC stage / generic"
            cells[3].text = "☐"
        for row in table.rows:
            for cell in row.cells:
                for para in cell.paragraphs:
                    for run in para.runs:
                        run.font.size = Pt(10)
    buf = io.BytesIO()  # whole in memory first: a failed write never leaves python-docx
    doc.save(buf)  # half-way through a ZIP
    with writing():
        return write_file(path, buf.getvalue(), owner=owner, force=force, protected=protected)


def export_worksheet(
    db: Database,
    batch_id: int,
    out: Path,
    *,
    docx: Path | None = None,
    operator: str | None = None,
    force: bool = False,
) -> WorksheetFiles:
    """Write a batch's worksheet as CSV to `out` (and a .docx when `docx` is given); audited.

    Never over the database, a link or a file recall did not write for this batch's
    worksheet (unless `force`); both paths are checked before either is written.
    """
    owner = f"{database_id(db)}/worksheet-batch-{batch_id}"
    guard = protected_for(db)
    if out.suffix.lower() == ".docx":
        docx, csv_out = out, None
    else:
        csv_out = out
    for path in (p for p in (csv_out, docx) if p is not None):
        check_worksheet_path(path, owner, force=force, protected=guard)
    rows = worksheet_rows(db, batch_id=batch_id)
    csv_path = None
    if csv_out is not None:
        csv_path = write_worksheet_csv(rows, csv_out, owner=owner, force=force, protected=guard)
    if docx is not None:
        write_worksheet_docx(
            rows,
            docx,
            f"Coding worksheet — batch {batch_id}",
            owner=owner,
            force=force,
            protected=guard,
        )
    with db.write() as session:
        append_audit(
            session,
            operator=operator or current_operator(),
            action="worksheet.export",
            batch_id=batch_id,
            details={"rows": len(rows), "csv": bool(csv_path), "docx": bool(docx)},
        )
    return WorksheetFiles(csv_path, docx, len(rows), group_rows(rows))
