"""Import files as validated rows: patients, registers, events. Never touches the database.

`ImportReader` finds the header row (scanning past report metadata for an NHS-number column),
picks the column mapping, then yields only valid rows while collecting every problem with its
file, physical line, column and value. Checks that need the database (is this NHS number
registered?) are the caller's; it adds them to the same problem log.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from recall.domain.care import parse_value
from recall.domain.codes import EXCEL_HINT, detect_code_system, looks_excel_mangled
from recall.domain.postcode import is_valid_postcode, normalise_postcode
from recall.domain.text import CONTROL_IN_TEXT, control_message, find_control, printable
from recall.importers.mapping import (
    KINDS,
    ColumnMapping,
    candidate_mappings,
    canonical_mapping,
)
from recall.importers.problems import ImportFileError, Problem, ProblemLog, show_value
from recall.importers.source import HEADER_SCAN_ROWS, CsvRecords, normalise_header
from recall.importers.values import (
    CellParser,
    looks_like_formula,
    parse_needs,
    parse_recall_month,
)

MAX_TEXT = 500  # characters in any one cell we keep
MAX_CODE = 20
CACHE_LIMIT = 200_000  # distinct raw values remembered by the events fast path
EARLIEST_BIRTH = dt.date(1880, 1, 1)
_ODS = re.compile(r"^[A-Z0-9]{3,12}$")
# Free-text fields where a quoted export may carry a line break or a tab; everywhere else
# those are refused with the other control characters.
MULTILINE_FIELDS = frozenset(
    {"address_line1", "address_line2", "address_line3", "address_line4", "term"}
)


@dataclass(slots=True)
class PatientRow:
    line: int
    nhs_number: str
    family_name: str
    given_name: str
    date_of_birth: dt.date
    title: str | None = None
    sex: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    address_line4: str | None = None
    postcode: str | None = None
    mobile: str | None = None
    email: str | None = None
    registered_on: dt.date | None = None
    deregistered_on: dt.date | None = None
    date_of_death: dt.date | None = None
    recall_month: int | None = None
    communication_needs: str = ""
    practice: str | None = None


PATIENT_VALUE_FIELDS = tuple(f for f in PatientRow.__slots__ if f not in ("line", "practice"))


class RegisterRow(NamedTuple):
    line: int
    nhs_number: str
    condition: str
    diagnosed_on: dt.date | None
    resolved_on: dt.date | None


class EventRow(NamedTuple):
    line: int
    nhs_number: str
    date: dt.date
    code: str
    term: str | None
    code_system: str
    value: str | None = None  # a reading: `48`, `7.5`, `150/90`


Row = PatientRow | RegisterRow | EventRow


class _RowError(Exception):
    """One bad cell; the row is dropped and the problem logged."""

    def __init__(self, column: str, value: str, message: str) -> None:
        super().__init__(message)
        self.column, self.value, self.message = column, value, message


class ImportReader:
    """Open an import file; iterate `rows()` for the valid ones, then read `problems`."""

    def __init__(
        self,
        path: Path,
        kind: str,
        mapping: ColumnMapping | None = None,
        *,
        today: dt.date | None = None,
        conditions: Mapping[str, str] | None = None,
        display_name: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ImportFileError(str(path.name), f"unknown import kind {kind!r}")
        self.path = path
        self.kind = kind
        self.today = today or dt.date.today()
        self.conditions = {normalise_header(k): v for k, v in (conditions or {}).items()}
        self.problems = ProblemLog()
        self.warnings = ProblemLog()
        self.rows_read = 0
        self.duplicates = 0
        self.cells = CellParser()
        self._systems: dict[str, str] = {}
        self._last_nhs = ""
        self._records = CsvRecords(path, display_name)
        self.name = self._records.name
        try:
            self._iter = iter(self._records)
            self.header_line, self.header = self._find_header(mapping)
            self.mapping = self._choose_mapping(mapping)
            self.columns = self.mapping.resolve(kind, self.header)
            self._refuse_duplicate_columns()
        except BaseException:
            self._records.close()
            raise

    def __enter__(self) -> ImportReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._records.close()

    # -- header and mapping -------------------------------------------------------------

    def _find_header(self, mapping: ColumnMapping | None) -> tuple[int, list[str]]:
        options = [mapping] if mapping else candidate_mappings()
        nhs_aliases = {a for m in options for a in m.aliases(self.kind, "nhs_number")}
        for count, (line, cells) in enumerate(self._iter, 1):
            if any(normalise_header(c) in nhs_aliases for c in cells):
                return line, cells
            if count >= HEADER_SCAN_ROWS:
                break
        raise ImportFileError(
            self.name,
            f"no header row with an NHS number column in the first {HEADER_SCAN_ROWS} lines "
            "(expected a column called nhs_number or 'NHS Number')",
        )

    def _choose_mapping(self, mapping: ColumnMapping | None) -> ColumnMapping:
        if mapping is not None:
            missing = mapping.missing(self.kind, self.header)
            if missing:
                self._missing(missing, mapping)
            return mapping
        # No --mapping: the candidate that finds the required columns and the most others.
        # Filling blank NHS numbers down is only safe for a real EMIS report (with its
        # metadata above the header), never guessed for a file that merely has similar headers.
        fits = [m for m in candidate_mappings() if not m.missing(self.kind, self.header)]
        if fits:
            best = max(fits, key=lambda m: len(m.resolve(self.kind, self.header)))
            if best.fill_down and self.header_line == 1:
                best = dataclasses.replace(best, fill_down=frozenset())
            return best
        self._missing(canonical_mapping().missing(self.kind, self.header), canonical_mapping())
        raise AssertionError("unreachable")

    def _refuse_duplicate_columns(self) -> None:
        """Two header cells with one name: which one holds the data is a guess, so refuse."""
        names = [normalise_header(h) for h in self.header]
        for index in sorted(self.columns.values()):
            where = [i + 1 for i, n in enumerate(names) if n == names[index]]
            if len(where) > 1:
                listed = ", ".join(str(i) for i in where[:-1]) + f" and {where[-1]}"
                raise ImportFileError(
                    self.name,
                    f"the header names column {printable(self.header[index].strip())!r} "
                    f"more than once (columns {listed}): rename or remove the extra one",
                    self.header_line,
                )

    def _missing(self, missing: list[str], mapping: ColumnMapping) -> None:
        found = ", ".join(printable(h.strip()) for h in self.header if h.strip())
        via = "" if mapping.key == "canonical" else f" (mapping {mapping.key})"
        raise ImportFileError(
            self.name,
            f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} not found"
            f"{via} in the header [{found}]; use --mapping for a clinical-system export",
            self.header_line,
        )

    # -- rows ------------------------------------------------------------------------

    def rows(self) -> Iterator[Row]:
        handler: Callable[[int, list[str]], Row | None]
        if self.kind == "patients":
            handler = self._patient
        elif self.kind == "registers":
            handler = self._register
        else:
            handler = self._event
        return self._run(handler)

    def event_chunks(
        self, patient_ids: Mapping[str, int], size: int, extra: tuple[Any, ...] = ()
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Valid events as rows for a bulk insert, `size` at a time.

        Each row is (patient_id, date as ISO text, code, term, code_system, value, *extra): ISO text
        is what both databases take fastest in bulk. An NHS number not in
        `patient_ids` is a problem. Once there is any problem no further chunk is yielded, but
        the whole file is still checked so every problem can be reported.

        Events files are large, so the common row (values already seen and valid) takes a
        path with no method calls; anything else goes through the full checks in `_event`,
        which also fill the caches this loop reads.
        """
        nhs_i, date_i, code_i, term_i, value_i, width = self._event_columns()
        fast = not self.mapping.fill_down
        fill_nhs = "nhs_number" in self.mapping.fill_down
        pid_by_raw: dict[str, int] = {}
        iso_by_raw: dict[str, str] = {}  # dates already checked: valid and not in the future
        systems = self._systems
        problems = self.problems
        control = CONTROL_IN_TEXT
        records = self._records
        reader = records.reader
        chunk: list[tuple[Any, ...]] = []
        append = chunk.append
        last = records.line_num
        count = self.rows_read
        try:
            for cells in reader:
                if fast and len(cells) >= width:
                    pid = pid_by_raw.get(cells[nhs_i])
                    day = iso_by_raw.get(cells[date_i])
                    code = cells[code_i]
                    system = systems.get(code)
                    if (
                        pid is not None
                        and day is not None
                        and system is not None
                        and (
                            term_i < 0
                            or (len(cells[term_i]) <= MAX_TEXT and not control(cells[term_i]))
                        )
                        and (value_i < 0 or not cells[value_i].strip())
                    ):
                        count += 1
                        last = reader.line_num  # type: ignore[attr-defined]
                        term = cells[term_i].strip() if term_i >= 0 else ""
                        # tuple + tuple: faster than unpacking `*extra` a million times
                        append((pid, day, code, term or None, system, None) + extra)  # noqa: RUF005
                        if len(chunk) >= size:
                            self.rows_read = count
                            if not problems.count:
                                yield chunk
                            chunk = []
                            append = chunk.append
                        continue
                line = last + 1
                last = reader.line_num  # type: ignore[attr-defined]
                self.rows_read = count
                slow = self._checked_event(
                    line,
                    cells,
                    patient_ids,
                    (cells[nhs_i] if nhs_i < len(cells) else "", pid_by_raw),
                    (cells[date_i] if date_i < len(cells) else "", iso_by_raw),
                    fill_nhs=fill_nhs,
                )
                count = self.rows_read
                if slow is not None:
                    append(slow + extra)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise records.error(exc, last + 1) from None
        records.mark()
        self.rows_read = count
        if chunk and not problems.count:
            yield chunk

    def _event_columns(self) -> tuple[int, int, int, int, int, int]:
        """Positions of nhs_number, date, code, term, value (-1: absent) and the row width."""
        if self.kind != "events":
            raise ValueError("event_chunks is for events files")
        nhs_i, date_i, code_i = (self.columns[c] for c in ("nhs_number", "date", "code"))
        term_i = self.columns.get("term", -1)
        value_i = self.columns.get("value", -1)
        return (
            nhs_i,
            date_i,
            code_i,
            term_i,
            value_i,
            max(nhs_i, date_i, code_i, term_i, value_i) + 1,
        )

    def _checked_event(
        self,
        line: int,
        cells: list[str],
        patient_ids: Mapping[str, int],
        nhs_cache: tuple[str, dict[str, int]],
        date_cache: tuple[str, dict[str, str]],
        *,
        fill_nhs: bool,
    ) -> tuple[Any, ...] | None:
        """One event through every check (the fast path's fallback); fills its caches."""
        row = self._one(line, cells, self._event, fill_nhs=fill_nhs)
        if not isinstance(row, EventRow):
            return None
        pid = patient_ids.get(row.nhs_number)
        if pid is None:
            self.add_problem(
                line,
                "nhs_number",
                row.nhs_number,
                "is not a patient in the database (import the patients file first)",
            )
            return None
        iso = row.date.isoformat()
        (raw_nhs, pid_by_raw), (raw_date, iso_by_raw) = nhs_cache, date_cache
        if len(iso_by_raw) < CACHE_LIMIT and len(pid_by_raw) < CACHE_LIMIT:
            pid_by_raw[raw_nhs] = pid
            iso_by_raw[raw_date] = iso
        return (pid, iso, row.code, row.term, row.code_system, row.value)

    def _run(self, handler: Callable[[int, list[str]], Row | None]) -> Iterator[Row]:
        fill_nhs = "nhs_number" in self.mapping.fill_down
        for line, cells in self._iter:
            row = self._one(line, cells, handler, fill_nhs=fill_nhs)
            if row is not None:
                yield row

    def _one(
        self,
        line: int,
        cells: list[str],
        handler: Callable[[int, list[str]], Row | None],
        *,
        fill_nhs: bool,
    ) -> Row | None:
        """Check one record fully; a bad one is logged and dropped (None)."""
        if not any(c.strip() for c in cells):
            return None
        if fill_nhs:
            nhs_i = self.columns["nhs_number"]
            if nhs_i < len(cells) and cells[nhs_i].strip():
                self._last_nhs = cells[nhs_i]
            elif nhs_i < len(cells):
                cells[nhs_i] = self._last_nhs
        self.rows_read += 1
        try:
            return handler(line, cells)
        except _RowError as err:
            self.problems.add(Problem(self.name, line, err.column, err.value, err.message))
            return None

    def add_problem(self, line: int, column: str, value: str, message: str) -> None:
        self.problems.add(Problem(self.name, line, column, value, message))

    def warn(self, line: int, column: str, value: str, message: str) -> None:
        self.warnings.add(Problem(self.name, line, column, value, message))

    def _cell(self, cells: list[str], name: str) -> str:
        i = self.columns.get(name)
        if i is None or i >= len(cells):
            return ""
        # whitespace at the ends (a tab, a line break) is trimmed as before; any control
        # character left inside the value is refused
        value = cells[i].strip()
        bad = find_control(value, allow_breaks=name in MULTILINE_FIELDS)
        if bad is not None:
            raise _RowError(name, value, control_message(value, bad))
        if len(value) > MAX_TEXT:
            raise _RowError(
                name, value, f"is too long ({len(value)} characters, at most {MAX_TEXT})"
            )
        return value

    def _nhs(self, cells: list[str]) -> str:
        raw = self._cell(cells, "nhs_number")
        if not raw:
            raise _RowError("nhs_number", "", "is empty: every row needs an NHS number")
        try:
            return self.cells.nhs_number(raw)
        except ValueError as exc:
            raise _RowError("nhs_number", raw, str(exc)) from None

    def _date(self, cells: list[str], name: str, *, required: bool = False) -> dt.date | None:
        raw = self._cell(cells, name)
        if not raw:
            if required:
                raise _RowError(name, "", "is empty")
            return None
        try:
            return self.cells.date(raw)
        except ValueError as exc:
            raise _RowError(name, raw, str(exc)) from None

    def _not_future(self, name: str, value: dt.date | None, raw: str) -> None:
        if value is not None and value > self.today:
            raise _RowError(name, raw, f"is in the future (today is {self.today.isoformat()})")

    def _text(self, cells: list[str], name: str, line: int) -> str | None:
        value = self._cell(cells, name)
        if value and looks_like_formula(value):
            self.warn(line, name, value, "looks like a spreadsheet formula: kept as plain text")
        return value or None

    def _patient(self, line: int, cells: list[str]) -> PatientRow:
        nhs = self._nhs(cells)
        names = {}
        for name in ("family_name", "given_name"):
            value = self._text(cells, name, line)
            if not value:
                raise _RowError(name, "", "is empty")
            names[name] = value
        dob = self._date(cells, "date_of_birth", required=True)
        assert dob is not None
        self._not_future("date_of_birth", dob, self._cell(cells, "date_of_birth"))
        if dob < EARLIEST_BIRTH:
            raise _RowError("date_of_birth", self._cell(cells, "date_of_birth"), "is too early")
        row = PatientRow(line, nhs, names["family_name"], names["given_name"], dob)
        for name in ("title", "sex", "address_line1", "address_line2", "address_line3"):
            setattr(row, name, self._text(cells, name, line))
        row.address_line4 = self._text(cells, "address_line4", line)
        row.mobile = self._cell(cells, "mobile") or None
        email = self._cell(cells, "email")
        if email and "@" not in email:
            self.warn(line, "email", email, "does not look like an email address")
        row.email = email or None
        postcode = self._cell(cells, "postcode")
        if postcode:
            if is_valid_postcode(postcode):
                postcode = normalise_postcode(postcode)
            else:
                self.warn(line, "postcode", postcode, "is not a UK postcode: kept as given")
        row.postcode = postcode or None
        row.registered_on = self._date(cells, "registered_on")
        if row.registered_on and row.registered_on > self.today:
            self.warn(line, "registered_on", self._cell(cells, "registered_on"), "is in the future")
        row.deregistered_on = self._date(cells, "deregistered_on")
        if row.deregistered_on and row.deregistered_on > self.today:
            self.warn(
                line, "deregistered_on", self._cell(cells, "deregistered_on"), "is in the future"
            )
        row.date_of_death = self._date(cells, "date_of_death")
        raw_death = self._cell(cells, "date_of_death")
        self._not_future("date_of_death", row.date_of_death, raw_death)
        if row.date_of_death and row.date_of_death < dob:
            raise _RowError("date_of_death", raw_death, "is before the date of birth")
        month = self._cell(cells, "recall_month")
        if month:
            try:
                row.recall_month = parse_recall_month(month)
            except ValueError as exc:
                raise _RowError("recall_month", month, str(exc)) from None
        needs = self._cell(cells, "communication_needs")
        if needs:
            try:
                row.communication_needs = parse_needs(needs)
            except ValueError as exc:
                raise _RowError("communication_needs", needs, str(exc)) from None
        practice = self._cell(cells, "practice").upper()
        if practice:
            if not _ODS.match(practice):
                raise _RowError("practice", practice, "is not an ODS code (e.g. A12345)")
            row.practice = practice
        return row

    def _register(self, line: int, cells: list[str]) -> RegisterRow:
        nhs = self._nhs(cells)
        raw = self._cell(cells, "condition")
        if not raw:
            raise _RowError("condition", "", "is empty")
        key = self.conditions.get(normalise_header(raw)) if self.conditions else raw.upper()
        if key is None:
            keys = sorted(set(self.conditions.values()))
            raise _RowError(
                "condition", raw, f"is not a condition in the catalogue (use {', '.join(keys)})"
            )
        diagnosed = self._date(cells, "diagnosed_on")
        self._not_future("diagnosed_on", diagnosed, self._cell(cells, "diagnosed_on"))
        resolved = self._date(cells, "resolved_on")
        self._not_future("resolved_on", resolved, self._cell(cells, "resolved_on"))
        if diagnosed and resolved and resolved < diagnosed:
            raise _RowError(
                "resolved_on", self._cell(cells, "resolved_on"), "is before diagnosed_on"
            )
        return RegisterRow(line, nhs, key, diagnosed, resolved)

    def _event(self, line: int, cells: list[str]) -> EventRow:
        nhs = self._nhs(cells)
        day = self._date(cells, "date", required=True)
        assert day is not None
        if day > self.today:
            self._not_future("date", day, self._cell(cells, "date"))
        code = self._cell(cells, "code")
        if not code:
            raise _RowError("code", "", "is empty")
        if looks_excel_mangled(code):
            raise _RowError("code", code, EXCEL_HINT)
        if len(code) > MAX_CODE:
            raise _RowError("code", code, f"is too long for a clinical code (>{MAX_CODE})")
        term = self._cell(cells, "term") or None
        raw_value = self._cell(cells, "value")
        try:
            value = parse_value(raw_value) or None
        except ValueError as exc:
            raise _RowError("value", raw_value, str(exc)) from None
        system = self._systems.get(code)
        if system is None:
            system = detect_code_system(code).value
            if len(self._systems) < 100_000:
                self._systems[code] = system
        return EventRow(line, nhs, day, code, term, system, value)


__all__ = [
    "EventRow",
    "ImportFileError",
    "ImportReader",
    "PatientRow",
    "Problem",
    "ProblemLog",
    "RegisterRow",
    "Row",
    "show_value",
]
