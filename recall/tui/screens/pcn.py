"""PCN overview: every practice x condition of a hub's database: reviewed, can be excepted,
invited once, not invited and the 2nd-letter backlog. Enter works on the highlighted
practice and opens its year dashboard.

Each practice's numbers are its own year dashboard's (`recall pca --practice ODS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from recall.services.views.pcn_view import PcnOverview, PcnRow, pcn_overview
from recall.tui.safe import plain
from recall.tui.screens.base import RecallScreen
from recall.tui.screens.practices import SYSTEM_NAMES
from recall.tui.widgets import add_columns, fit_columns, fit_text
from recall.tui.words import plural, short_date

NAME_WIDTH = 20
# (column key, header, width): 75 columns with the ODS code, the name and the cell padding
NUMBERS = (
    ("reviewed", "Reviewed", 8),
    ("can_be_excepted", "Can be\nexcepted", 8),
    ("invited_once", "Invited\nonce", 7),
    ("not_invited", "Not\ninvited", 7),
    ("backlog", "2nd\ndue", 5),
)


@dataclass
class OverviewLoaded(Message):
    overview: PcnOverview


def _number(r: PcnRow, column: str) -> str:
    """A count; as on the year dashboard, "can be excepted" and "2nd due" say "n/a" where PCA
    does not apply this QOF year and "-" where the condition cannot be coded yet."""
    if column in ("can_be_excepted", "backlog"):
        if not r.pca_applies:
            return "n/a"
        if not r.ready:
            return "-"
    return f"{getattr(r, column):,}"


def _columns() -> list[tuple[str, int]]:
    """(header, least width) of the overview; the condition grows on a wide screen."""
    return [("ODS", 6), ("Condition", NAME_WIDTH), *((h, w) for _k, h, w in NUMBERS)]


class PcnOverviewScreen(RecallScreen):
    TITLE = "PCN overview"
    HELP = """\
Every practice of the PCN side by side, condition by condition, this QOF year: how many
were reviewed, can be excepted (invited twice, at least 7 days apart), were invited once,
or not invited at all, and "2nd due": patients invited once who can still be excepted if a
2nd letter goes by 31 March. Each practice's numbers are the ones its own year dashboard
shows: **n/a** where PCA does not apply to the condition this QOF year, **-** where the
practice cannot code it yet.

Press **Enter** on a line to work on that practice: the title bar then names it and its
year dashboard opens.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "drill", "Open practice", id="drill", priority=True),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.overview: PcnOverview | None = None
        self.rows: list[PcnRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Counting every practice…", id="pcn-banner", classes="banner")
        yield DataTable(id="pcn-table", cursor_type="row", header_height=2)
        yield Static("", id="pcn-practice", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        add_columns(table, *_columns())
        table.focus()
        self.load()

    def on_resize(self) -> None:
        if self.overview is not None:
            self._loaded(OverviewLoaded(self.overview))

    @work(thread=True, exclusive=True, exit_on_error=False, group="pcn")
    def load(self) -> None:
        self.post_message(OverviewLoaded(pcn_overview(self.ctx.db, self.ctx.today)))

    @on(OverviewLoaded)
    def _loaded(self, message: OverviewLoaded) -> None:
        o = self.overview = message.overview
        self.rows = list(o.rows)
        self.query_one("#pcn-banner", Static).update(
            plain(
                f"QOF year {o.qof_year} · {short_date(o.as_of)} · "
                f"{plural(len(o.practices), 'practice')} · 2nd-letter backlog {o.backlog:,}"
            )
        )
        table = self.query_one(DataTable)
        values = [
            [r.practice.ods_code, r.name, *(_number(r, k) for k, _h, _w in NUMBERS)]
            for r in self.rows
        ]
        widths = fit_columns(table, _columns(), values, self.size.width)
        for r, row in zip(self.rows, values, strict=True):
            ods, name, *numbers = (fit_text(x, w) for x, w in zip(row, widths, strict=True))
            right = [Text(f"{n:>{w}}") for n, w in zip(numbers, widths[2:], strict=True)]
            table.add_row(Text(ods), Text(name), *right, key=r.key)
        chosen = self.ctx.practice
        mine = [i for i, r in enumerate(self.rows) if chosen and r.practice.id == chosen.id]
        if mine:  # open on the practice being worked on
            table.move_cursor(row=mine[0])
        self._describe()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._describe()

    def _current(self) -> PcnRow | None:
        table = self.query_one(DataTable)
        if self.rows and 0 <= table.cursor_row < len(self.rows):
            return self.rows[table.cursor_row]
        return None

    def _describe(self) -> None:
        row = self._current()
        hint = self.query_one("#pcn-practice", Static)
        if row is None or self.overview is None:
            hint.update("No practice has patients on a register yet." if self.overview else "")
            return
        p = row.practice
        backlog = next(y.backlog for y in self.overview.practices if y.practice.id == p.id)
        hint.update(
            plain(
                f"{p.ods_code} {p.name} ({SYSTEM_NAMES.get(p.clinical_system, '')}): "
                f"2nd-letter backlog {backlog:,}. Enter works on this practice."
            )
        )

    def action_drill(self) -> None:
        row = self._current()
        if row is not None:
            self.recall_app.switch_practice(row.practice, then="year")
