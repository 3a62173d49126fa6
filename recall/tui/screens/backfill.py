"""The tidy-up (backfill): add codes missing from earlier invitations, on the original dates.

A dry run first (what would be added, grouped by date and code, as the clinical system's
bulk-add needs it), a look at the patients in any group, then apply after a confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from recall.domain.nhs import format_nhs_number
from recall.services.backfill import BackfillApplyResult, BackfillGroup
from recall.services.views.backfill_view import (
    BackfillView,
    apply_tidy_up,
    load_backfill,
    plain_change,
)
from recall.tui.safe import cells, plain
from recall.tui.screens.base import RecallScreen
from recall.tui.widgets import ConfirmModal, add_columns
from recall.tui.words import plural, short_date


@dataclass
class TidyUpPlanned(Message):
    view: BackfillView


@dataclass
class TidyUpApplied(Message):
    result: BackfillApplyResult


class BackfillScreen(RecallScreen):
    TITLE = "Tidy up earlier coding"
    HELP = """\
Some invitations were coded with only the generic QOF invite code, or with the letter code
but not the condition's own code. Those patients cannot be excepted later. This screen finds
them and adds the missing codes **on the date of the original invitation** (never today).

Nothing changes until you press **a** and say yes. The list shows one line per date and
code, the way the clinical system's bulk-add works; **Enter** shows the patients in a line.
**l** switches between this QOF year and last year.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_group", "See patients", id="open_group", priority=True),
        Binding("a", "apply", "Add these codes", id="apply"),
        Binding("l", "switch_year", "This/last year", id="switch_year"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: BackfillView | None = None
        self.last_year = False
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Checking earlier coding…", id="bf-summary", classes="form")
        yield DataTable(id="bf-groups", cursor_type="row", zebra_stripes=True)
        yield Static("", id="bf-detail", classes="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        add_columns(
            self.query_one(DataTable), ("Date", 11), ("Code", 17), ("For", 24), ("Patients", 8)
        )
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        ctx = self.ctx
        view = load_backfill(
            ctx.db, ctx.today, last_year=self.last_year, practice_id=ctx.practice_id
        )
        self.post_message(TidyUpPlanned(view))

    @on(TidyUpPlanned)
    def _planned(self, message: TidyUpPlanned) -> None:
        v = self.view = message.view
        p, s = v.plan, v.plan.summary
        span = f"{short_date(p.date_from)} to {short_date(p.date_to)}"
        lines = [f"QOF year {v.year.label} ({span}):"]
        if not s.items:
            lines.append("Nothing to add: every invitation has its codes.")
        else:
            lines.append(
                f"{plural(s.items, 'code')} can be added for "
                f"{plural(s.patients_with_items, 'patient')}: {s.stage_codes:,} letter codes "
                f"where only the generic code was used, {s.condition_codes:,} condition codes."
            )
            if s.becomes_eligible_patients:
                lines.append(
                    f"Afterwards {plural(s.becomes_eligible_patients, 'more patient')} can be "
                    "excepted if they do not reply."
                )
            elif any(i.change for i in p.items):
                counted = len({i.patient_id for i in p.items if i.change})
                lines.append(
                    f"None can be excepted yet, but the letters of {plural(counted, 'patient')} "
                    "will count: a 2nd letter can then except them."
                )
            else:
                lines.append(
                    "They change no patient's PCA status: adding them is optional, to tidy "
                    "the records."
                )
        if p.blocked:
            codes = sum(b.codes for b in p.blocked)
            lines.append(
                f"Not added: {plural(codes, 'code')} for {plural(len(p.blocked), 'condition')} "
                "that cannot be coded yet (see Code lists)."
            )
        if s.cannot_fix:
            closed = self.ctx.today > v.year.end  # no letter can be sent into a year that has ended
            lines.append(
                "Cannot be fixed here: "
                + ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in s.cannot_fix.items())
                + (
                    f" (QOF year {v.year.label} has ended, so no new letter can count for it)."
                    if closed
                    else " (new letters are needed)."
                )
            )
        self.query_one("#bf-summary", Static).update("\n".join(lines))
        table = self.query_one(DataTable)
        table.clear()
        for i, g in enumerate(p.groups):
            table.add_row(
                *cells(short_date(g.date), g.code, v.label(g.date, g.code), f"{g.count:,}"),
                key=str(i),
            )
        table.focus()
        self._detail()

    def _group(self) -> BackfillGroup | None:
        table = self.query_one(DataTable)
        if self.view is None or table.row_count == 0:
            return None
        return self.view.plan.groups[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _detail(self) -> None:
        g = self._group()
        text = ""
        if g is not None:
            text = (
                f"{g.term}\nBulk-add {g.code} dated {short_date(g.date)} for "
                f"{plural(g.count, 'patient')}."
            )
        self.query_one("#bf-detail", Static).update(plain(text))

    def action_open_group(self) -> None:
        g = self._group()
        if g is not None and self.view is not None:
            self.app.push_screen(BackfillGroupScreen(self.view, g))

    def action_switch_year(self) -> None:
        if self.busy:
            return
        self.last_year = not self.last_year
        self.query_one("#bf-summary", Static).update("Checking earlier coding…")
        self.load()

    def action_apply(self) -> None:
        v = self.view
        if v is None or self.busy:
            return
        s = v.plan.summary
        if not s.items:
            self.notify("There is nothing to add.")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.busy = True
                self.query_one("#bf-summary", Static).update("Adding the codes…")
                self.apply()

        self.app.push_screen(
            ConfirmModal(
                f"Add {plural(s.items, 'code')} for {plural(s.patients_with_items, 'patient')}?",
                "Each code is dated the day of the original invitation. The tool records them "
                "and writes a coding worksheet; you then add the same codes, with the same "
                "dates, in the clinical system.",
                yes="Add them",
                no="Not now",
            ),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply")
    def apply(self) -> None:
        ctx = self.ctx
        result = apply_tidy_up(
            ctx.db,
            ctx.today,
            last_year=self.last_year,
            out_dir=ctx.out_dir,
            practice_id=ctx.practice_id,
        )
        self.post_message(TidyUpApplied(result))

    def unsaved_work(self) -> str:
        if self.busy:
            return "The codes are still being added. If you leave, that carries on and finishes."
        return ""

    def worker_failed(self, worker: object) -> None:
        self.busy = False

    @on(TidyUpApplied)
    def _applied(self, message: TidyUpApplied) -> None:
        self.busy = False
        self.app.push_screen(BackfillDoneScreen(message.result))
        self.load()


class BackfillGroupScreen(RecallScreen):
    """The patients in one (date, code) group, and what the code changes for each."""

    HELP = """\
The patients who would get this code, dated as shown, and what it changes for them this
year (for example "invited once → can be excepted"). Press **Esc** to go back.
"""

    def __init__(self, view: BackfillView, group: BackfillGroup) -> None:
        super().__init__()
        self.view = view
        self.group = group
        self.title = f"{group.code} on {short_date(group.date)}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            f"{self.group.term} · dated {short_date(self.group.date)} · "
            f"{plural(self.group.count, 'patient')}",
            classes="status-line",
        )
        yield DataTable(id="bf-patients", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        add_columns(table, ("NHS number", 12), ("Name", 18), ("For", 6), ("What changes", 34))
        items = self.view.items_in(self.group.date, self.group.code)
        for n, i in enumerate(sorted(items, key=lambda i: self.view.names.get(i.patient_id, ""))):
            table.add_row(
                *cells(
                    format_nhs_number(i.nhs_number),
                    self.view.names.get(i.patient_id, "")[:22],
                    i.condition or "letter",
                    plain_change(i.change),
                ),
                key=str(n),
            )
        table.focus()


class BackfillDoneScreen(RecallScreen):
    TITLE = "Tidy-up done"
    HELP = """\
The codes are recorded in the tool. Add them in the clinical system with the same dates,
using the worksheet (it groups patients by date and code for the bulk-add).
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "back", "Back", id="done"),
        Binding("escape", "back", "Back", show=False, id="back"),
    ]

    def __init__(self, result: BackfillApplyResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        r = self.result
        lines = []
        if r.recorded:
            lines.append(f"✓ Recorded {plural(r.recorded, 'code')}, each on its original date.")
        else:
            lines.append("Nothing new was recorded.")
        if r.worksheet:
            lines.append(f"Coding worksheet: {r.worksheet}")
        lines.append("")
        lines.append("Next, in the clinical system:")
        lines.append("1. Open the worksheet: patients are grouped by date and code.")
        lines.append("2. For each group, bulk-add the code dated as shown (not today).")
        lines.append("3. Later, import the clinical system's events to check they all arrived.")
        if r.still_missing:
            lines.append("")
            lines.append(
                f"{plural(r.still_missing, 'tidy-up code')} not yet seen in the clinical system."
            )
        yield Header()
        with VerticalScroll(classes="form"):
            yield Static("\n".join(lines))
            for g in r.plan.groups[:15]:
                yield Static(
                    f"   {short_date(g.date):<12} {g.code:<18} {plural(g.count, 'patient')}",
                    classes="hint",
                )
        yield Footer(compact=True)
