"""Year dashboard: every condition's register split by status this QOF year, the 2nd-letter
backlog with its last safe date, and the patients behind any number (Enter), exportable (e).

The numbers are `recall pca`'s; a cell's list comes from the same rule, so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from recall.domain.nhs import format_nhs_number
from recall.domain.pca import PcaStatus
from recall.services.views.year_view import (
    COLUMNS,
    MEANING,
    NEED_SECOND,
    CellPatient,
    YearDashboard,
    YearRow,
    cell_patients,
    export_cell,
    year_dashboard,
)
from recall.tui.paths import PathText
from recall.tui.safe import cells, line, plain
from recall.tui.screens.base import RecallScreen
from recall.tui.widgets import add_columns, fit_columns, fit_text
from recall.tui.words import long_date, plural, short_date

# on-screen widths: the key column (4) and one per status; 77 columns with cell padding
WIDTHS = {"achieved": 8, "pca_eligible": 8, "not_codeable": 8, "invalid_interval": 5}
WIDTHS["need_second"] = 5
# the columns that count who can be, or can still be, excepted
EXCEPTING = frozenset({PcaStatus.PCA_ELIGIBLE.value, NEED_SECOND})
# a cell's patient list (header, least width): 78 cells with padding; wider screens show more
CELL_COLUMNS = [("NHS number", 12), ("Name", 22), ("Born", 11), ("Invited / next", 25)]


@dataclass
class YearLoaded(Message):
    year: YearDashboard


@dataclass
class CellLoaded(Message):
    patients: list[CellPatient]


@dataclass
class CellExported(Message):
    path: Path
    rows: int


class YearScreen(RecallScreen):
    TITLE = "Year dashboard"
    HELP = """\
This QOF year for every condition with patients on its register: how many were reviewed,
can be excepted (invited twice, at least 7 days apart), were invited once, twice but too
close together, only with the generic code, or not at all. "Not yet codeable" counts
patients of a condition the tool cannot code yet. "2nd due" is the backlog: patients
invited once who can still be excepted if a 2nd letter goes by the last safe date.

Where nobody can be excepted, "can be excepted" and "2nd due" show **n/a** (PCA does not
apply to the condition this QOF year) or **-** (the tool cannot code the condition yet).

These are the same numbers as `recall pca`. Move with the arrow keys; the line under the
table says what the highlighted number means. **Enter** lists the patients behind it.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_cell", "Patients", id="open_cell", priority=True),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.year: YearDashboard | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Counting…", id="year-banner", classes="banner")
        yield DataTable(id="year-table", cursor_type="cell", header_height=2)
        yield Static("", id="year-cell", classes="hint")
        yield Static("", id="year-backlog")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("", width=4, key="key")
        for cid, header, _meaning in COLUMNS:
            table.add_column(header, width=WIDTHS.get(cid, 7), key=cid)
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="year")
    def load(self) -> None:
        ctx = self.ctx
        self.post_message(
            YearLoaded(year_dashboard(ctx.db, ctx.today, practice_id=ctx.practice_id))
        )

    @on(YearLoaded)
    def _loaded(self, message: YearLoaded) -> None:
        y = self.year = message.year
        self.query_one("#year-banner", Static).update(
            f"QOF year {y.qof_year} · as of {long_date(y.as_of)}"
        )
        table = self.query_one(DataTable)
        where = table.cursor_coordinate
        table.clear()
        for r in y.rows:
            values = [Text(self._number(r, cid)) for cid, _h, _m in COLUMNS]
            key = Text(r.key, style="" if r.ready else "dim")
            table.add_row(key, *values, key=r.key)
        if y.rows:
            table.cursor_coordinate = table.validate_cursor_coordinate(where)
            if table.cursor_column == 0:
                table.move_cursor(column=1)
        backlog = self.query_one("#year-backlog", Static)
        if y.backlog:
            backlog.update(
                f"2nd-letter backlog: {plural(y.backlog, 'patient-condition')} can still be "
                f"excepted if a 2nd letter goes by {long_date(y.last_safe_date)} "
                f"(31 March is the last day that counts)."
            )
        else:
            backlog.update("No 2nd letters are waiting.")
        if not y.rows:
            self.query_one("#year-cell", Static).update("Nobody is on a condition register yet.")
        table.focus()
        self._describe()

    @staticmethod
    def _number(r: YearRow, column: str) -> str:
        """A cell's number; where nobody can be excepted, "can be excepted" and "2nd due" say
        so instead of counting: "n/a" where PCA does not apply this QOF year, "-" until the
        condition can be coded (the line under the table says why)."""
        width = WIDTHS.get(column, 7)
        if column in EXCEPTING:
            if not r.pca_applies:
                return f"{'n/a':>{width}}"
            if not r.ready:
                return f"{'-':>{width}}"
        return f"{r.counts[column]:>{width},}"

    def _cell(self) -> tuple[str, str] | None:
        """(condition key, column id) under the cursor, or None on the key column."""
        table = self.query_one(DataTable)
        if self.year is None or not self.year.rows:
            return None
        col = table.cursor_column
        row = table.cursor_row
        if col < 1 or row >= len(self.year.rows):
            return None
        return self.year.rows[row].key, COLUMNS[col - 1][0]

    @on(DataTable.CellHighlighted)
    def _highlighted(self) -> None:
        self._describe()

    def _describe(self) -> None:
        if self.year is None or not self.year.rows:
            return
        table = self.query_one(DataTable)
        r = self.year.rows[min(table.cursor_row, len(self.year.rows) - 1)]
        head = f"{r.name} ({r.key}), {plural(r.register, 'patient')} on the register"
        if not r.ready:
            head += f". Cannot be coded yet: {r.readiness_reason}"
        if r.qof_note:
            head += f". {r.qof_note[0].upper()}{r.qof_note[1:]}"
        cell = self._cell()
        if cell is None:
            text = head + "."
        else:
            n = r.counts[cell[1]]
            text = f"{head}.\n{plural(n, 'patient')}: {MEANING[cell[1]]}."
            if cell[1] == PcaStatus.PCA_ELIGIBLE.value and not r.pca_applies:
                text = f"{head}.\nCan be excepted: n/a, PCA does not apply this QOF year."
            elif cell[1] == PcaStatus.PCA_ELIGIBLE.value and not r.ready:
                text = f"{head}.\nCan be excepted: none until it can be coded (not yet codeable)."
            elif cell[1] == NEED_SECOND and not r.pca_applies:
                text = (
                    f"{head}.\n2nd due: n/a, PCA does not apply this QOF year, so a 2nd letter "
                    "excepts nobody."
                )
            elif cell[1] == NEED_SECOND and not r.ready:
                text = (
                    f"{head}.\n2nd due: none until it can be coded, as a 2nd letter without its "
                    "code excepts nobody."
                )
                if r.need_second_when_codeable:
                    later = plural(r.need_second_when_codeable, "patient")
                    text += f" {later} invited once would then be due one."
            elif n:
                text += " Enter lists them."
        self.query_one("#year-cell", Static).update(plain(text))

    def action_open_cell(self) -> None:
        cell = self._cell()
        if cell is None or self.year is None:
            return
        row = next(r for r in self.year.rows if r.key == cell[0])
        if cell[1] in EXCEPTING and not (row.pca_applies and row.ready):
            why = "this QOF year" if not row.pca_applies else "until it can be coded"
            self.notify(  # n/a or "-": nobody is behind it (the line under the table says why)
                f"{row.name}: nobody can be excepted {why}, so there is nobody to list.",
                title="Nobody to list",
            )
            return
        self.app.push_screen(YearCellScreen(cell[0], row.name, cell[1]))


class YearCellScreen(RecallScreen):
    HELP = """\
The patients behind one number on the year dashboard. **Enter** opens the highlighted
patient's year; **e** saves the list as a CSV file (it names patients: keep it private).
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_patient", "Open patient", id="open_patient", priority=True),
        Binding("e", "export", "Export list", id="export"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, condition: str, name: str, column: str) -> None:
        super().__init__()
        self.condition = condition
        self.column = column
        self.patients: list[CellPatient] = []
        header = dict((c[0], c[1]) for c in COLUMNS)[column].replace("\n", " ")
        self.title = line(f"{name}: {header.lower()}")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="cell-count", classes="status-line")
        yield DataTable(id="cell-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="cell-detail", classes="hint")
        yield Static("", id="cell-file", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        add_columns(self.query_one(DataTable), *CELL_COLUMNS)
        self.load()

    def on_resize(self) -> None:
        if self.patients:
            self._loaded(CellLoaded(self.patients))

    @work(thread=True, exclusive=True, exit_on_error=False, group="cell")
    def load(self) -> None:
        db, today = self.ctx.db, self.ctx.today
        found = cell_patients(
            db, self.condition, self.column, today, practice_id=self.ctx.practice_id
        )
        self.post_message(CellLoaded(found))

    @on(CellLoaded)
    def _loaded(self, message: CellLoaded) -> None:
        self.patients = message.patients
        table = self.query_one(DataTable)
        rows = [
            [
                format_nhs_number(p.nhs_number),
                line(p.name),
                short_date(p.date_of_birth),
                _dates(p, self.column),
            ]
            for p in self.patients
        ]
        widths = fit_columns(table, CELL_COLUMNS, rows, self.size.width)
        for i, values in enumerate(rows):
            table.add_row(*cells(*map(fit_text, values, widths)), key=str(i))
        n = len(self.patients)
        self.query_one("#cell-count", Static).update(
            plain(f"{plural(n, 'patient')}: {MEANING[self.column]}.")
        )
        table.focus()

    @on(DataTable.RowHighlighted, "#cell-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted patient's name and dates in full (the columns may cut them)."""
        if 0 <= event.cursor_row < len(self.patients):
            p = self.patients[event.cursor_row]
            self.query_one("#cell-detail", Static).update(
                plain(f"{p.name}: {_dates(p, self.column)}")
            )

    def action_open_patient(self) -> None:
        from recall.tui.screens.patients import PatientScreen

        table = self.query_one(DataTable)
        if self.patients and 0 <= table.cursor_row < len(self.patients):
            self.app.push_screen(PatientScreen(self.patients[table.cursor_row].nhs_number))

    def action_export(self) -> None:
        self.export()

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def export(self) -> None:
        ctx = self.ctx
        path, rows = export_cell(
            ctx.db,
            self.condition,
            self.column,
            ctx.today,
            out_dir=ctx.out_dir,
            practice_id=ctx.practice_id,
        )
        self.post_message(CellExported(path, rows))

    @on(CellExported)
    def _exported(self, message: CellExported) -> None:
        self.query_one("#cell-file", Static).update(
            PathText(f"Saved {plural(message.rows, 'patient')} to {message.path}")
        )


def _dates(p: CellPatient, column: str) -> str:
    if p.review_date:
        return f"reviewed {short_date(p.review_date)}"
    invited = ", ".join(f"{d.day} {d:%b}" for d in p.invitations)
    if column == NEED_SECOND and p.earliest_second:
        return f"{invited} · 2nd from {p.earliest_second.day} {p.earliest_second:%b}"
    return invited or "-"
