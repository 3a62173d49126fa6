"""Patient lookup: find by name, NHS number or date of birth; see this year's invitations,
codes and reviews, each condition's status in plain words; mark booked or responded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static

from recall.domain.nhs import format_nhs_number
from recall.services.patients import (
    PatientSummary,
    PatientView,
    TimelineEvent,
    clear_response,
    mark_response,
    patient_view,
    search_patients,
)
from recall.services.views.patient_detail import condition_lines
from recall.tui.safe import cells, line, plain
from recall.tui.screens.base import RecallScreen
from recall.tui.widgets import ConfirmModal, TextBox, add_columns, fit_columns, fit_text
from recall.tui.words import plural, short_date

# (header, least width): 78 cells with padding, so both tables fit 80 columns
CONDITION_COLUMNS = [("Condition", 20), ("This year", 17), ("Invited on", 13), ("Next", 20)]
TIMELINE_COLUMNS = [("Date", 11), ("Code", 18), ("What", 24), ("From", 17)]
ORIGIN_WORDS = {
    "import": "clinical system",
    "send": "sent by this tool",
    "backfill": "tidy-up",
}


@dataclass
class SearchDone(Message):
    hits: list[PatientSummary]
    focus_list: bool


class PatientSearchScreen(RecallScreen):
    TITLE = "Find a patient"
    HELP = """\
Type part of a name (e.g. "ann smi"), an NHS number, or a date of birth (31/01/1950).
The list fills in as you type. Press **Enter** to move to the list, and **Enter** again
to open the highlighted patient. **/** goes back to the search box; **Esc** goes back to
the home screen.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Search / open", id="open", priority=True),
        Binding("slash", "search_box", "Search", id="search"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[PatientSummary] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield TextBox(
            placeholder="Name, NHS number or date of birth (31/01/1950)",
            id="search",
            compact=True,
        )
        yield Static("Type to search.", id="search-count", classes="status-line")
        yield DataTable(id="hits", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        add_columns(
            self.query_one(DataTable),
            ("NHS number", 12),
            ("Name", 28),
            ("Born", 11),
            ("Age", 3),
            ("Conditions", 12),
        )
        self.query_one("#search", TextBox).focus()

    @on(Input.Changed, "#search")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        text = event.value.strip()
        if len(text) >= 2:
            self._timer = self.set_timer(0.25, lambda: self.search(text))
        else:  # an old list under a new, shorter search would be someone else's patients
            self.hits = []
            self.query_one(DataTable).clear()
            self.query_one("#search-count", Static).update(
                "Type at least 2 letters or digits." if text else "Type to search."
            )

    def action_open(self) -> None:
        """Enter: in the search box, search now and go to the list; in the list, open."""
        box = self.query_one("#search", TextBox)
        if self.focused is box:
            if self._timer is not None:
                self._timer.stop()
            if box.value.strip():
                self.search(box.value.strip(), focus_list=True)
            return
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.hits) and table.row_count:
            self.app.push_screen(PatientScreen(self.hits[table.cursor_row].nhs_number))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def search(self, text: str, focus_list: bool = False) -> None:
        ctx = self.ctx
        hits = search_patients(
            ctx.db, text, today=ctx.today, limit=200, practice_id=ctx.practice_id
        )
        self.post_message(SearchDone(hits, focus_list))

    @on(SearchDone)
    def _found(self, message: SearchDone) -> None:
        if len(self.query_one("#search", TextBox).value.strip()) < 2:
            return  # the box was cut back while this search ran
        self.hits = message.hits
        table = self.query_one(DataTable)
        table.clear()
        for i, h in enumerate(self.hits):
            name = h.name + (f" ({h.note})" if h.note else "")
            table.add_row(
                *cells(
                    format_nhs_number(h.nhs_number),
                    line(name)[:28],
                    short_date(h.date_of_birth),
                    str(h.age),
                    " ".join(h.conditions),
                ),
                key=str(i),
            )
        n = len(self.hits)
        more = " (showing the first 200: type more to narrow)" if n >= 200 else ""
        self.query_one("#search-count", Static).update(
            f"{plural(n, 'patient')} found{more}" if n else "Nobody found."
        )
        if message.focus_list and n:
            table.focus()

    def on_screen_resume(self) -> None:
        """Back from a patient: the list has the keys, never the search box (a hotkey
        pressed next would be typed into it)."""
        table = self.query_one(DataTable)
        if self.hits and table.row_count:
            table.focus()

    def action_search_box(self) -> None:
        self.query_one("#search", TextBox).focus()


@dataclass
class PatientLoaded(Message):
    view: PatientView


class PatientScreen(RecallScreen):
    HELP = """\
One patient's year: each condition's status in plain words, and every invitation, code and
review dated this QOF year (from the clinical system, sent by this tool, or added by the
tidy-up). Under the conditions the highlighted one is said in full: this year's care (the
latest reading in or out of target, or the care done and when), invitations that do not
count, a full review's parts, and what this QOF year asks.

With a condition highlighted: **b** marks that the patient booked their review, **r** that
they responded another way; either stops further letters for that condition this year.
**u** removes the mark.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "mark('booked')", "Booked", id="booked"),
        Binding("r", "mark('responded')", "Responded", id="responded"),
        Binding("u", "unmark", "Clear mark", id="unmark"),
        Binding("tab", "app.focus_next", "Switch list", id="switch", show=False),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, nhs_number: str) -> None:
        super().__init__()
        self.nhs_number = nhs_number
        self.view: PatientView | None = None
        self.events: list[TimelineEvent] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="who", classes="status-line")
        yield DataTable(id="conditions", cursor_type="row")
        yield Static("", id="condition-detail", classes="hint")
        yield Static("This year's invitations, codes and reviews", classes="title")
        yield DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        add_columns(self.query_one("#conditions", DataTable), *CONDITION_COLUMNS)
        add_columns(self.query_one("#timeline", DataTable), *TIMELINE_COLUMNS)
        self.load()

    def on_resize(self) -> None:
        if self.view is not None:
            self._loaded(PatientLoaded(self.view))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        ctx = self.ctx
        view = patient_view(ctx.db, self.nhs_number, ctx.today, practice_id=ctx.practice_id)
        self.post_message(PatientLoaded(view))

    @on(PatientLoaded)
    def _loaded(self, message: PatientLoaded) -> None:
        v = self.view = message.view
        self.title = line(f"{v.given_name} {v.family_name}")
        month = dt.date(2000, v.recall_month, 1).strftime("%B") if v.recall_month else "?"
        state = "" if v.alive_and_registered else " · no longer registered"
        self.query_one("#who", Static).update(
            f"NHS {format_nhs_number(v.nhs_number)} · born {short_date(v.date_of_birth)} "
            f"({v.age}) · recall month {month} · QOF {v.qof_year}{state}"
        )
        conds = self.query_one("#conditions", DataTable)
        row = conds.cursor_row
        rows: dict[str, list[str]] = {}
        for key, s in v.status.items():
            invited = ", ".join(_day(d) for d in s.invitations) or "-"
            nxt = ""
            if s.response:
                kind, _, day = s.response.partition(" ")
                nxt = f"{kind} {_day(dt.date.fromisoformat(day))}" if day else kind
            elif s.status == "achieved":
                nxt = f"reviewed {_day(s.review_date)}"
            elif s.earliest_second and s.status in ("invited_once", "invalid_interval"):
                nxt = f"2nd from {_day(s.earliest_second)}"
            elif not s.ready:
                nxt = "not codeable yet"
            rows[key] = [s.name, s.short, invited, nxt]
        widths = fit_columns(conds, CONDITION_COLUMNS, list(rows.values()), self.size.width)
        for key, values in rows.items():
            fitted = (fit_text(x, w) for x, w in zip(values, widths, strict=True))
            conds.add_row(*cells(*fitted), key=key)
        if v.status:
            conds.move_cursor(row=min(row, len(v.status) - 1))
        timeline = self.query_one("#timeline", DataTable)
        self.events = [x for x in v.events if x.in_year]
        lines = [
            [short_date(e.date), e.code, e.meaning or e.term, ORIGIN_WORDS.get(e.origin, e.origin)]
            for e in self.events
        ]
        widths = fit_columns(timeline, TIMELINE_COLUMNS, lines, self.size.width)
        for i, values in enumerate(lines):
            timeline.add_row(
                *cells(*(fit_text(x, w) for x, w in zip(values, widths, strict=True))), key=str(i)
            )
        conds.focus()
        self._describe()

    @on(DataTable.RowHighlighted, "#conditions")
    def _highlighted(self) -> None:
        self._describe()

    @on(DataTable.RowHighlighted, "#timeline")
    def _event(self, event: DataTable.RowHighlighted) -> None:
        """A timeline line in full (its term may be longer than the column)."""
        if self.focused is not event.data_table or not 0 <= event.cursor_row < len(self.events):
            return
        e = self.events[event.cursor_row]
        what = e.term if not e.meaning else f"{e.meaning} ({e.term})" if e.term else e.meaning
        where = ORIGIN_WORDS.get(e.origin, e.origin)
        self.query_one("#condition-detail", Static).update(
            plain(f"{short_date(e.date)}: {e.code} {what}, {where}.")
        )

    def on_descendant_focus(self) -> None:
        if self.focused is not None and self.focused.id == "conditions":
            self._describe()

    def _describe(self) -> None:
        """The highlighted condition in whole sentences, one per line: the status, this
        year's care, invitations that do not count, review parts, and the QOF year."""
        key = self._condition()
        if key is None or self.view is None or key not in self.view.status:
            return
        lines = condition_lines(self.view.status[key])
        self.query_one("#condition-detail", Static).update(plain("\n".join(lines)))

    def _condition(self) -> str | None:
        table = self.query_one("#conditions", DataTable)
        if self.view is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key

    def action_mark(self, kind: str) -> None:
        """Ask first: a mark stops this condition's letters for the rest of the year."""
        key = self._condition()
        if key is None or self.view is None:
            return
        view = self.view
        name = view.status[key].name if key in view.status else key

        def answered(yes: bool | None) -> None:
            if yes:
                self.save_mark(view.patient_id, key, kind)

        self.app.push_screen(
            ConfirmModal(
                f"Mark {name} as {kind}?",
                f"{view.given_name} {view.family_name} gets no more letters for {name} this "
                "year. Press u later to remove the mark.",
                yes=f"Mark {kind}",
                no="Cancel",
            ),
            answered,
        )

    def action_unmark(self) -> None:
        key = self._condition()
        if key is not None and self.view is not None:
            self.save_mark(self.view.patient_id, key, "")

    @work(thread=True, exclusive=True, exit_on_error=False, group="mark")
    def save_mark(self, patient_id: int, condition: str, kind: str) -> None:
        db, today = self.ctx.db, self.ctx.today
        if kind:
            added = mark_response(
                db, patient_id, condition, kind, today=today, practice_id=self.ctx.practice_id
            )
            note = f"Marked {kind} for {condition}." if added else f"Already marked {kind}."
        else:
            removed = clear_response(db, patient_id, condition, today=today)
            note = "Mark removed." if removed else "There was no mark to remove."
        self.app.call_from_thread(self.notify, note, timeout=3)
        view = patient_view(db, self.nhs_number, today, practice_id=self.ctx.practice_id)
        self.post_message(PatientLoaded(view))


def _day(day: dt.date | None) -> str:
    """`2026-12-01` -> "1 Dec": the year is the QOF year's, shown in the line below."""
    return "" if day is None else f"{day.day} {day:%b}"
