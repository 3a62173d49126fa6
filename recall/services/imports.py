"""Importing the clinical system's exports: patients, registers, events.

One file is one transaction: every row is validated while it streams (so a million-event
file never sits in memory), good rows are written in chunks, and if any row is bad the whole
transaction is rolled back, so the database is exactly as it was. Re-importing a file adds
nothing: patients are matched on NHS number, register entries on patient and condition,
events on patient, date and code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from recall.domain.free_text import mask_nhs_shaped
from recall.domain.text import printable
from recall.importers.mapping import (
    CANONICAL,
    KINDS,
    ColumnMapping,
    MappingError,
    load_mapping,
    shipped_mapping_names,
)
from recall.importers.problems import ImportFileError, Problem
from recall.importers.records import (
    PATIENT_VALUE_FIELDS,
    ImportReader,
    PatientRow,
    RegisterRow,
)
from recall.importers.source import count_lines
from recall.services.catalogue import load_catalogue
from recall.services.errors import RecallError, Refused
from recall.services.infra.database import safe_url
from recall.services.infra.operator import current_operator
from recall.services.practice_scope import PracticeChoiceError, resolve_practice_id
from recall.store.audit_repo import append_audit
from recall.store.bulk import bulk_load, insert_ignore, upsert
from recall.store.db import Database
from recall.store.models import event_t, import_run_t, patient_t, register_t
from recall.store.patients_repo import (
    counts,
    patient_ids_by_nhs,
    patient_practices,
    patients_of_practice,
    register_entries,
)
from recall.store.practice_repo import all_practices, get_or_create_practice

CHUNK = 20_000
TICK_EVERY = 2_000  # rows between progress reports for patients and registers
Progress = Callable[[int, int], None]
EVENT_COLUMNS = ("patient_id", "date", "code", "term", "code_system", "value", "import_id")


@dataclass
class ImportResult:
    kind: str
    file: str
    mapping: str
    import_id: int | None
    header_line: int
    rows_read: int
    added: int
    updated: int
    skipped: int
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    dry_run: bool = False
    resolved: int = 0  # registers --full: entries no longer in the file, marked resolved


class _RollBack(Exception):
    """Raised inside the transaction to undo a dry run once it has been counted."""


class ImportRefused(Refused):
    """The file had problems; nothing was written. `lines` lists them for people."""

    def __init__(self, file: str, problems: list[Problem], total: int) -> None:
        first = str(problems[0]) if problems else "the file could not be imported"
        more = f" (and {total - 1} more problem{'s' if total > 2 else ''})" if total > 1 else ""
        super().__init__(
            f"nothing was imported: {first}{more}",
            [
                {
                    "file": p.file,
                    "line": str(p.line),
                    "column": p.column,
                    "value": p.value,
                    "message": p.message,
                }
                for p in problems
            ],
        )
        self.total = total
        self.lines = [str(p) for p in problems]
        if total > len(problems):
            self.lines.append(f"and {total - len(problems)} more")


@dataclass
class DatabaseCounts:
    url: str
    backend: str
    patients: int
    registers: int
    events: int
    practice: str


def database_counts(db: Database) -> DatabaseCounts:
    """What the database holds (for `recall init` and the demo's safety check)."""
    with db.read() as session:
        c = counts(session)
        practice = get_or_create_practice(session)
        return DatabaseCounts(
            url=safe_url(db.url),  # shown and printed: never the password
            backend=db.backend,
            patients=c["patients"],
            registers=c["registers"],
            events=c["events"],
            practice=practice.ods_code,
        )


def mapping_names() -> list[str]:
    """Column mappings staff can choose from (shipped ones; a .toml path also works)."""
    return [CANONICAL, *shipped_mapping_names()]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _resolve_mapping(mapping: str | ColumnMapping | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    try:
        return load_mapping(mapping)
    except MappingError as exc:
        raise RecallError(str(exc)) from None


def _open_reader(
    session: Session,
    practice_id: int | None,
    path: Path,
    kind: str,
    column_mapping: ColumnMapping | None,
    today: dt.date,
) -> ImportReader:
    """The file's reader (register files learn the catalogue's condition names and keys)."""
    conditions: dict[str, str] | None = None
    if kind == "registers":
        conditions = {}
        for cond in load_catalogue(session, practice_id):
            conditions[cond.name] = cond.key
            conditions[cond.key] = cond.key
    try:
        return ImportReader(path, kind, column_mapping, today=today, conditions=conditions)
    except ImportFileError as exc:
        raise ImportRefused(
            exc.file, [Problem(exc.file, exc.line or 0, "", "", exc.reason)], 1
        ) from None


def _load_rows(
    session: Session,
    reader: ImportReader,
    kind: str,
    route: Route,
    run_id: int,
    tick: Callable[[int], None],
    *,
    full: bool,
    today: dt.date,
) -> tuple[int, int, int, int]:
    """(added, updated, skipped, resolved); a problem found while loading joins the others."""
    resolved = 0
    added = updated = skipped = 0
    try:
        with bulk_load(session):
            if kind == "patients":
                added, updated, skipped = _patients(session, reader, route, tick)
            elif kind == "registers":
                added, updated, skipped, resolved = _registers(
                    session, reader, tick, route.chosen, full=full, today=today
                )
            else:
                added, updated, skipped = _events(session, reader, run_id, tick, route.chosen)
    except ImportFileError as exc:
        reader.add_problem(exc.line or 0, "", "", exc.reason)
    return added, updated, skipped, resolved


def _start_run(
    session: Session, practice_id: int, kind: str, path: Path, digest: str, operator: str
) -> int:
    """The import's own row (the events it adds point at it)."""
    return int(
        session.execute(
            insert(import_run_t)
            .values(
                practice_id=practice_id,
                kind=kind,
                file_name=path.name,
                sha256=digest,
                at=dt.datetime.now(dt.UTC),
                operator=operator,
            )
            .returning(import_run_t.c.id)
        ).scalar_one()
    )


def _finish_run(
    session: Session,
    reader: ImportReader,
    kind: str,
    run_id: int,
    counts: tuple[int, int, int, int],
) -> ImportResult:
    """Record the counts on the import's row and say what happened."""
    added, updated, skipped, resolved = counts
    session.execute(
        update(import_run_t)
        .where(import_run_t.c.id == run_id)
        .values(rows_read=reader.rows_read, rows_added=added)
    )
    return ImportResult(
        kind=kind,
        file=reader.name,
        mapping=reader.mapping.key,
        import_id=int(run_id),
        header_line=reader.header_line,
        rows_read=reader.rows_read,
        added=added,
        updated=updated,
        skipped=skipped,
        warnings=reader.warnings.lines(),
        warning_count=reader.warnings.count,
        resolved=resolved,
    )


def _audit_import(
    session: Session,
    result: ImportResult,
    practice_id: int,
    path: Path,
    digest: str,
    operator: str,
    full: bool,
) -> None:
    """The import in the audit log: counts and the file's name (no folder, no NHS number)."""
    append_audit(
        session,
        operator=operator,
        action=f"import.{result.kind}",
        practice_id=practice_id,
        details={
            "import_id": result.import_id,
            "file": printable(mask_nhs_shaped(path.name)),
            "sha256": digest,
            "mapping": result.mapping,
            "rows_read": result.rows_read,
            "added": result.added,
            "updated": result.updated,
            "skipped": result.skipped,
            "warnings": result.warning_count,
            "resolved": result.resolved,
            "full": full,
        },
    )


def import_file(
    db: Database,
    kind: str,
    path: str | Path,
    mapping: str | ColumnMapping | None = None,
    progress: Progress | None = None,
    operator: str | None = None,
    *,
    today: dt.date | None = None,
    dry_run: bool = False,
    full: bool = False,
    practice_id: int | None = None,
) -> ImportResult:
    """Import one file of `kind` (patients, registers, events) all-or-nothing.

    With dry_run the whole import runs (every check, the real counts) and is then rolled
    back, so staff can check a file before committing to it. With full (registers only) the
    file is the whole register for each condition it lists: entries of that practice's
    patients missing from it are marked resolved today (they come back if a later file lists
    them again).
    """
    if full and kind != "registers":
        raise RecallError("a full import (--full) is only for registers files")
    if kind not in KINDS:
        raise RecallError(f"unknown import kind {kind!r}: use {', '.join(KINDS)}")
    path = Path(path)
    operator = operator or current_operator()
    today = today or dt.date.today()
    column_mapping = _resolve_mapping(mapping)
    if not path.is_file():
        raise RecallError(
            f"{path.name}: file not found" if not path.exists() else f"{path.name}: not a file"
        )
    total = max(count_lines(path) - 1, 0)
    digest = _sha256(path)
    try:
        with db.write() as session:
            route = _route(session, kind, practice_id)
            reader = _open_reader(session, route.catalogue_of, path, kind, column_mapping, today)
            with reader:
                route.check_columns(reader)
                run_id = _start_run(session, route.run_practice, kind, path, digest, operator)
                added, updated, skipped, resolved = _load_rows(
                    session,
                    reader,
                    kind,
                    route,
                    run_id,
                    _ticker(progress, total),
                    full=full,
                    today=today,
                )
                if reader.problems:
                    raise ImportRefused(reader.name, list(reader.problems), reader.problems.count)
                result = _finish_run(
                    session, reader, kind, run_id, (added, updated, skipped, resolved)
                )
                for pid in route.audited():
                    _audit_import(session, result, pid, path, digest, operator, full)
                if dry_run:
                    result.dry_run, result.import_id = True, None
                    raise _RollBack
    except _RollBack:
        pass
    if progress is not None:
        progress(result.rows_read, result.rows_read)
    return result


def _ticker(progress: Progress | None, total: int) -> Callable[[int], None]:
    def tick(done: int) -> None:
        if progress is not None:
            progress(done, max(total, done))

    return tick


# -- which practice each row belongs to --------------------------------------------------


@dataclass
class Route:
    """Where a file's rows go: the chosen (or only) practice, or, for a PCN-wide patients
    file, the practice each row names in its `practice` column (which must be set up)."""

    chosen: int | None  # the practice every row goes to; None: each row names its own
    explicit: bool  # chosen with --practice (a row naming another practice is an error)
    known: dict[str, int]  # ODS code -> practice id, every practice set up
    refusal: PracticeChoiceError | None = None
    touched: set[int] = field(default_factory=set)

    @property
    def catalogue_of(self) -> int | None:
        return self.chosen if self.chosen is not None else min(self.known.values(), default=None)

    @property
    def run_practice(self) -> int:
        pid = self.catalogue_of
        assert pid is not None
        return pid

    def check_columns(self, reader: ImportReader) -> None:
        """Several practices, none chosen and no `practice` column: the file is refused."""
        if self.refusal is not None and "practice" not in reader.columns:
            raise self.refusal

    def practice_of(self, reader: ImportReader, row: PatientRow) -> int | None:
        """The row's practice, or None after recording the row's problem."""
        if not row.practice:
            if self.chosen is None:
                assert self.refusal is not None
                reader.add_problem(row.line, "practice", "", "is blank: name the row's practice")
                return None
            self.touched.add(self.chosen)
            return self.chosen
        pid = self.known.get(row.practice)
        if pid is None:
            reader.add_problem(
                row.line,
                "practice",
                row.practice,
                "is not a practice set up in this database "
                f"(recall practice add {row.practice} --name NAME --system systmone|emis)",
            )
            return None
        if self.explicit and pid != self.chosen:
            reader.add_problem(
                row.line, "practice", row.practice, "is not the practice chosen with --practice"
            )
            return None
        self.touched.add(pid)
        return pid

    def audited(self) -> list[int]:
        """The practices whose audit log records the import."""
        return sorted(self.touched) or [self.run_practice]


def _route(session: Session, kind: str, practice_id: int | None) -> Route:
    """The chosen practice, the only one, or (patients files only) each row's own."""
    try:
        chosen: int | None = resolve_practice_id(session, practice_id)
        refusal = None
    except PracticeChoiceError as exc:
        if kind != "patients":
            raise
        chosen, refusal = None, exc
    known = {ods: pid for pid, ods, _ in all_practices(session)}
    return Route(chosen, practice_id is not None, known, refusal)


# -- patients ----------------------------------------------------------------------------


def _patients(
    session: Session, reader: ImportReader, route: Route, tick: Callable[[int], None]
) -> tuple[int, int, int]:
    present = [f for f in PATIENT_VALUE_FIELDS if f in reader.columns]
    existing: dict[int, dict[str, tuple[int, tuple[Any, ...]]]] = {}
    first_line: dict[tuple[int, str], int] = {}
    pending: list[dict[str, Any]] = []
    added = updated = skipped = 0

    for row in reader.rows():
        assert isinstance(row, PatientRow)
        if reader.rows_read % TICK_EVERY == 0:
            tick(reader.rows_read)
        pid = route.practice_of(reader, row)
        if pid is None:
            continue
        key = (pid, row.nhs_number)
        if key in first_line:
            reader.add_problem(
                row.line,
                "nhs_number",
                row.nhs_number,
                f"appears twice in this file (first on line {first_line[key]})",
            )
            continue
        first_line[key] = row.line
        if reader.problems:
            continue  # keep validating, stop writing: the transaction will be rolled back
        if pid not in existing:
            existing[pid] = patients_of_practice(session, pid, present)
        values = tuple(getattr(row, f) for f in present)
        known = existing[pid].get(row.nhs_number)
        if known is not None and known[1] == values:
            skipped += 1
            continue
        if known is None:
            added += 1
        else:
            updated += 1
        record = {f: getattr(row, f) for f in present}
        record.update(practice_id=pid, nhs_number=row.nhs_number)
        record.setdefault("communication_needs", "")
        pending.append(record)
        if len(pending) >= CHUNK:
            _flush_patients(session, pending, present)
            tick(reader.rows_read)
    if not reader.problems:
        _flush_patients(session, pending, present)
    return added, updated, skipped


def _flush_patients(session: Session, rows: list[dict[str, Any]], present: list[str]) -> None:
    # Rows with the same set of keys go together: executemany needs one shape.
    upsert(
        session,
        patient_t,
        rows,
        conflict=("practice_id", "nhs_number"),
        update=[f for f in present if f not in ("nhs_number",)],
    )
    rows.clear()


# -- registers ---------------------------------------------------------------------------


def _registers(
    session: Session,
    reader: ImportReader,
    tick: Callable[[int], None],
    practice_id: int | None,
    *,
    full: bool,
    today: dt.date,
) -> tuple[int, int, int, int]:
    ids = patient_ids_by_nhs(session, practice_id)
    existing = register_entries(session)
    seen: dict[tuple[int, str], tuple[int, Any, Any]] = {}
    with_dates = [f for f in ("diagnosed_on", "resolved_on") if f in reader.columns or full]
    pending: list[dict[str, Any]] = []
    added = updated = skipped = 0
    for row in reader.rows():
        assert isinstance(row, RegisterRow)
        if reader.rows_read % TICK_EVERY == 0:
            tick(reader.rows_read)
        pid = ids.get(row.nhs_number)
        if pid is None:
            reader.add_problem(
                row.line,
                "nhs_number",
                row.nhs_number,
                "is not a patient in the database (import the patients file first)",
            )
            continue
        key = (pid, row.condition)
        if key in seen:
            line, d, r = seen[key]
            if (d, r) != (row.diagnosed_on, row.resolved_on):
                reader.add_problem(
                    row.line,
                    "condition",
                    row.condition,
                    f"is listed twice for this patient with different dates (line {line})",
                )
            else:
                skipped += 1
            continue
        seen[key] = (row.line, row.diagnosed_on, row.resolved_on)
        if reader.problems:
            continue
        old = existing.get(key)
        new = (row.diagnosed_on, row.resolved_on)
        if old is not None:
            compare = tuple(
                n if f in with_dates else o
                for f, o, n in zip(("diagnosed_on", "resolved_on"), old, new, strict=True)
            )
            if compare == old:
                skipped += 1
                continue
            updated += 1
        else:
            added += 1
        record: dict[str, Any] = {"patient_id": pid, "condition": row.condition}
        record.update({f: getattr(row, f) for f in with_dates})
        pending.append(record)
        if len(pending) >= CHUNK:
            upsert(
                session,
                register_t,
                pending,
                conflict=("patient_id", "condition"),
                update=with_dates,
            )
            pending.clear()
            tick(reader.rows_read)
    if reader.problems:
        return added, updated, skipped, 0
    upsert(session, register_t, pending, conflict=("patient_id", "condition"), update=with_dates)
    resolved = _resolve_missing(session, existing, seen, today) if full else 0
    return added, updated, skipped, resolved


def _resolve_missing(
    session: Session,
    existing: dict[tuple[int, str], tuple[Any, Any]],
    seen: dict[tuple[int, str], Any],
    today: dt.date,
) -> int:
    """Mark resolved the open entries of the file's conditions and practices it leaves out."""
    practice_of = patient_practices(session)
    conditions = {cond for _, cond in seen}
    practices = {practice_of[pid] for pid, _ in seen}
    gone = [
        {"pid": pid, "cond": cond}
        for (pid, cond), (_, resolved_on) in existing.items()
        if resolved_on is None
        and cond in conditions
        and practice_of.get(pid) in practices
        and (pid, cond) not in seen
    ]
    if gone:
        r = register_t
        session.execute(
            update(r)
            .where(r.c.patient_id == bindparam("pid"), r.c.condition == bindparam("cond"))
            .values(resolved_on=today),
            gone,
        )
    return len(gone)


# -- events ------------------------------------------------------------------------------


def _events(
    session: Session,
    reader: ImportReader,
    run_id: int,
    tick: Callable[[int], None],
    practice_id: int | None,
) -> tuple[int, int, int]:
    ids = patient_ids_by_nhs(session, practice_id)
    added = valid = 0
    for chunk in reader.event_chunks(ids, CHUNK, (run_id,)):
        valid += len(chunk)
        added += insert_ignore(session, event_t, EVENT_COLUMNS, chunk)
        tick(reader.rows_read)
    return added, 0, valid - added
