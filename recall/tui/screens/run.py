"""The monthly run, steps 1 and 2: choose which letters to send, then check the list.

Unticking a patient is saved at once (with the reason given), so leaving the screen or
closing the app never loses the checking already done; coming back re-opens the same list.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from recall.domain.nhs import format_nhs_number
from recall.domain.qof_year import qof_year_of
from recall.services.letters import made_on_earlier_day
from recall.services.views.dashboard import RunOption, due_options
from recall.services.views.run_view import (
    NotDueRow,
    Review,
    ReviewRow,
    open_review,
    reason_problem,
    set_included,
)
from recall.tui.safe import plain
from recall.tui.screens.base import RecallScreen
from recall.tui.screens.made_earlier import MadeEarlierChoice, MadeEarlierModal
from recall.tui.virtual_table import Cell, VirtualTable
from recall.tui.widgets import ReasonModal, TextBox
from recall.tui.words import long_date, month_name, needs_words, plural, run_title, short_date

COLUMNS = [
    ("", 1),
    ("NHS number", 12),
    ("Name", 18),
    ("Age", 3),
    ("Conditions", 11),
    ("By", 6),
    ("Needs", 0),
]
CHANNEL_WORDS = {"letter": "Letter", "sms": "Text", "email": "Email", "phone": "Phone"}
FLAG_WORDS = {
    "late_in_year": "late in the year: a 2nd letter may not fit before 31 March",
    "no_address": "no address on record: cannot post a letter",
    "no_letter": "asked for no letters",
}


@dataclass
class OptionsLoaded(Message):
    options: list[RunOption]


class OtherRunModal(ModalScreen[tuple[int, str] | None]):
    """Pick any recall month of this QOF year and a letter (for catching up).

    It opens on the month list, so the arrow keys choose a month at once; Tab reaches the
    letter (1st, 2nd or 3rd)."""

    DEFAULT_CSS = """
    OtherRunModal #other-months { height: 12; margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, today: dt.date) -> None:
        super().__init__()
        year = qof_year_of(today)
        first = year.start
        self.months = [
            f"{first.year + (first.month - 1 + i) // 12:04d}-{(first.month - 1 + i) % 12 + 1:02d}"
            for i in range(12)
        ]
        self.current = f"{today.year:04d}-{today.month:02d}"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Which letters?", classes="dialog-title")
            yield Select(
                [("1st invitation letters", 1), ("2nd invitation letters", 2), ("3rd", 3)],
                value=1,
                allow_blank=False,
                id="other-stage",
                compact=True,
            )
            yield Label("For patients whose recall month is:")
            yield OptionList(
                *(Option(month_name(m), id=m) for m in self.months),
                id="other-months",
                compact=True,
            )
            yield Static(
                "↑↓ month · Enter: open its list · Tab: which letter · Esc: back",
                classes="hint",
            )

    def on_mount(self) -> None:
        months = self.query_one("#other-months", OptionList)
        if self.current in self.months:
            months.highlighted = self.months.index(self.current)
        months.focus()

    @on(OptionList.OptionSelected, "#other-months")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        stage = self.query_one("#other-stage", Select).value
        month = self.months[event.option_index]
        self.dismiss((int(stage) if isinstance(stage, int) else 1, month))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChooseRunScreen(RecallScreen):
    """Step 1: which letters go out today (the first choice is what is due)."""

    TITLE = "Send letters"
    HELP = """\
Choose which letters you are sending today. The list shows, for each recall month, how many
patients are due a 1st, 2nd or 3rd invitation letter. The highlighted line is usually the
right one: press **Enter** to open its list of patients.

Letters already sent keep their line, dimmed, with the day they went and how many: nobody
else is due them, so there is nothing more to do there.

Press **o** to pick another month (for example to catch up on a month that was missed).
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "start", "Open list", id="start", priority=True),
        Binding("o", "other", "Other month", id="other"),
        Binding("escape", "back", "Back", id="back"),
    ]

    options: list[RunOption]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="choose-intro", classes="banner")
        yield OptionList(id="choices")
        yield Static("", id="choose-detail", classes="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.options = []
        self.query_one("#choose-intro", Static).update(
            f"Which letters are you sending today, {long_date(self.ctx.today)}?"
        )
        ol = self.query_one(OptionList)
        ol.add_option(Option("Counting who is due…", id="counting", disabled=True))
        ol.focus()
        self.load()

    def on_screen_resume(self) -> None:
        if self.options:
            self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        ctx = self.ctx
        options = due_options(ctx.db, ctx.today, practice_id=ctx.practice_id, with_sent=True)
        self.post_message(OptionsLoaded(options))

    @on(OptionsLoaded)
    def _loaded(self, message: OptionsLoaded) -> None:
        ol = self.query_one(OptionList)
        keys = [(o.stage, o.month) for o in self.options]
        at = ol.highlighted
        was = keys[at] if at is not None and 0 <= at < len(keys) else None
        self.options = message.options
        ol.clear_options()
        for i, o in enumerate(self.options):
            ol.add_option(Option(_choice_line(o), id=str(i)))
        index = 0
        if not self.options:
            ol.add_option(Option("Nobody is due a letter this month.", id="none", disabled=True))
        else:
            # back from a list: the cursor stays on the same line (a run just sent stays in
            # its place, marked sent); on opening, it starts on the first line still due
            keys = [(o.stage, o.month) for o in self.options]
            if was in keys:
                index = keys.index(was)
            else:
                index = next((i for i, o in enumerate(self.options) if not o.done), 0)
            ol.highlighted = index
        ol.focus()
        self._detail(index)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._detail(event.option_index)

    def _detail(self, index: int) -> None:
        detail = self.query_one("#choose-detail", Static)
        if not 0 <= index < len(self.options):
            detail.update("Press o to choose a month and letter yourself.")
            return
        o = self.options[index]
        if o.done:
            lines = [*_sent_lines(o), "Nobody else is due these letters now."]
        else:
            ordinal = run_title(o.stage, o.month)[:3]
            lines = [f"{plural(o.due, 'patient')} due a {ordinal} letter.", *_sent_lines(o)]
        if o.stage > 1 and not o.done:
            lines.append(
                "Everyone whose next letter is due, whatever their recall month: nobody "
                "invited earlier in the year is left behind."
            )
        if o.waiting:
            when = f" (the first on {short_date(o.next_due)})" if o.next_due else ""
            lines.append(
                f"{plural(o.waiting, 'more patient')} will be due once enough days have "
                f"passed since their last letter{when}."
            )
        if o.made_on is not None:
            lines = [made_lines(o), *_sent_lines(o)]  # its count is the letters', not today's
        elif o.started:
            lines.append("You started this list earlier: your changes are kept.")
        detail.update("\n".join(lines))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)  # a mouse click on a line

    def action_start(self) -> None:
        self._open(self.query_one(OptionList).highlighted or 0)

    def _open(self, index: int) -> None:
        if 0 <= index < len(self.options):
            o = self.options[index]
            if o.done:  # opening it would only start an empty list
                day = o.sent[-1].sent_on
                self.notify(
                    f"Sent on {day:%a} {short_date(day)}: nobody else is due these letters now.",
                    title="Already sent",
                )
                return
            self.app.push_screen(ReviewScreen(o.stage, o.month))

    def action_other(self) -> None:
        today = self.ctx.today

        def chosen(choice: tuple[int, str] | None) -> None:
            if choice is not None:
                self.app.push_screen(ReviewScreen(*choice))

        self.app.push_screen(OtherRunModal(today), chosen)


CHOICE_WIDTH = 76  # an option's text at 80 columns (the list's border and padding take 4)
LABEL_WIDTH = 46


def _choice_line(o: RunOption) -> Text:
    """One line of the chooser: which letters, then how many are due (or when they went)."""
    label = f"{run_title(o.stage, o.month):<{LABEL_WIDTH}}"
    if o.done:  # kept in its place, dimmed, so the lines below do not move up
        return Text.assemble((label, "dim"), (_sent_short(o, CHOICE_WIDTH - LABEL_WIDTH), "dim"))
    count = f"{o.due:,} due"
    if o.made_on is not None:  # the list stays as the letters were made: say so
        count = f"{o.in_letters:,} in letters made {o.made_on.day} {o.made_on:%b}"
    elif o.started:
        count += " · started"
    return Text.assemble(label, (count, "bold"))


def made_lines(o: RunOption) -> str:
    """A list whose letters were made and not yet recorded as sent: who is in them, and
    where anyone due since goes."""
    assert o.made_on is not None
    return (
        f"Letters made on {o.made_on:%A} {o.made_on.day} {o.made_on:%B} for "
        f"{plural(o.in_letters, 'patient')}, not yet recorded as sent: open the list to "
        "record them as sent (or to make them again). Anyone due since goes in the next "
        "list, once these are recorded as sent."
    )


def _channels(letters: int, texts: int, text: str = "text") -> str:
    """Who a run went to, e.g. "5 letters, 11 texts" ("nobody": everyone was left out)."""
    parts = [plural(letters, "letter")] if letters else []
    if texts:
        parts.append(plural(texts, text))
    return ", ".join(parts) or "nobody"


def _sent_short(o: RunOption, width: int) -> str:
    """A run already sent, within `width`: "sent 20 Nov, 65 letters" (the latest day, and
    everyone it went to)."""
    day = o.sent[-1].sent_on
    when = f"sent {day.day} {day:%b}"
    letters = sum(s.letters for s in o.sent)
    texts = sum(s.texts for s in o.sent)
    if not letters + texts:
        return f"{when}, nobody"
    full = f"{when}, {_channels(letters, texts)}"
    return full if len(full) <= width else f"{when}, {plural(letters + texts, 'patient')}"


def _sent_lines(o: RunOption) -> list[str]:
    """Each batch of this run already sent: the day it went and to how many (latest three)."""
    lines = [
        f"Sent on {long_date(s.sent_on)}: {_channels(s.letters, s.texts, 'text message')}."
        for s in o.sent[-3:]
    ]
    if len(o.sent) > 3:
        lines.insert(0, f"Sent in {len(o.sent)} batches; the latest three:")
    return lines


@dataclass
class ReviewLoaded(Message):
    review: Review


@dataclass
class ToggleSaved(Message):
    patient_id: int


@dataclass
class MadeChecked(Message):
    """Whether the list's letters were made on an earlier day (None: no, or never)."""

    made_on: dt.date | None


class ReviewScreen(RecallScreen):
    """Step 2: the list of patients to invite. Space unticks (with a reason) or ticks again."""

    HELP = """\
This is everyone due this letter. Check the list and untick anyone who should not get it.

* **Space** unticks the highlighted patient (you are asked why) or ticks them again.
  Your changes are saved straight away.
* **/** moves to the filter box: type part of a name, NHS number or condition.
  **Enter** or **Esc** in the filter box goes back to the list.
* **n** shows the patients who are not due, and why.
* **g** makes the letters for everyone ticked. If they were already made on an earlier
  day and not recorded as sent, you are asked first: **s** records them as sent (on the day
  they went out), **a** makes them again dated today, **Esc** changes nothing.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_row", "Untick/tick", id="toggle"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("n", "not_due", "Not due", id="not_due"),
        Binding("g", "letters", "Make letters", id="letters"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, stage: int, month: str) -> None:
        super().__init__()
        self.stage = stage
        self.month = month
        self.title = run_title(stage, month)
        self.review: Review | None = None
        self.rows: dict[int, ReviewRow] = {}
        self.order: list[int] = []
        self.showing_not_due = False
        self._pending: deque[tuple[int, bool, str]] = deque()
        self._lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Finding who is due…", id="counts", classes="status-line")
        yield Static("", id="review-warning", classes="hint")
        yield TextBox(
            placeholder="Filter: part of a name, NHS number or condition (press /)",
            id="filter",
            compact=True,
        )
        yield VirtualTable(id="review")
        yield Static("", id="row-detail", classes="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()
        self.query_one("#review-warning").display = False
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        ctx = self.ctx
        review = open_review(
            ctx.db, self.stage, self.month, today=ctx.today, practice_id=ctx.practice_id
        )
        self.post_message(ReviewLoaded(review))

    @on(ReviewLoaded)
    def _loaded(self, message: ReviewLoaded) -> None:
        self.review = message.review
        self.rows = {r.patient_id: r for r in message.review.rows}
        self.order = [r.patient_id for r in message.review.rows]
        table = self.query_one(VirtualTable)
        self._fill()
        table.focus()
        keys = [w.split(":", 1)[0] for w in message.review.warnings]
        lines = [message.review.note] if message.review.note else []
        if keys:
            blocked = ", ".join(keys)
            lines.append(f"Not invited for {blocked}: cannot be coded yet (see Code lists).")
        warn = self.query_one("#review-warning", Static)
        warn.display = bool(lines)
        warn.update("\n".join(lines))

    # -- drawing -----------------------------------------------------------------------

    def _cells(self, r: ReviewRow) -> list[Cell]:
        mark: Cell = ("✓", "bold green") if r.included else ("✗", "bold red")
        needs = needs_words(r.needs) if r.included else f"left out: {r.reason}"
        return [
            mark,
            format_nhs_number(r.nhs_number),
            r.name,
            "" if r.age is None else str(r.age),
            " ".join(r.conditions),
            CHANNEL_WORDS.get(r.channel, r.channel),
            needs,
        ]

    def _matches(self, text: str, *fields: str) -> bool:
        words = text.casefold().split()
        hay = " ".join(fields).casefold().replace(" ", "")
        return all(w.replace(" ", "") in hay for w in words)

    def _fill(self) -> None:
        table = self.query_one(VirtualTable)
        text = self.query_one("#filter", TextBox).value.strip()
        rows: list[tuple[str, list[Cell]]] = []
        if self.showing_not_due:
            table.set_columns([("NHS number", 12), ("Name", 20), ("Why not due", 0)])
            for nd in self._not_due():
                if text and not self._matches(text, nd.nhs_number, nd.name, nd.reason):
                    continue
                rows.append(
                    (str(nd.patient_id), [format_nhs_number(nd.nhs_number), nd.name, nd.reason])
                )
        else:
            table.set_columns(COLUMNS)
            for pid in self.order:
                r = self.rows[pid]
                if text and not self._matches(
                    text, r.nhs_number, r.name, " ".join(r.conditions), r.channel
                ):
                    continue
                rows.append((str(pid), self._cells(r)))
        table.set_rows(rows)
        self._counts()
        self._detail()

    def _not_due(self) -> list[NotDueRow]:
        return self.review.not_due if self.review else []

    def _counts(self) -> None:
        if self.review is None:
            return
        ticked = sum(1 for r in self.rows.values() if r.included)
        out = len(self.rows) - ticked
        shown = self.query_one(VirtualTable).row_count
        parts = [f"{plural(ticked, 'patient')} to send", f"{out:,} unticked"]
        parts.append(f"{len(self._not_due()):,} not due")
        total = len(self._not_due()) if self.showing_not_due else len(self.rows)
        if shown != total:
            parts.append(f"showing {shown:,}")
        if self.showing_not_due:
            parts.insert(0, "NOT DUE LIST (n to go back)")
        self.query_one("#counts", Static).update(" · ".join(parts))

    def _current(self) -> int | None:
        key = self.query_one(VirtualTable).current_key()
        return int(key) if key is not None else None

    def _detail(self) -> None:
        detail = self.query_one("#row-detail", Static)
        pid = self._current()
        if pid is None or self.review is None:
            detail.update("Nobody to show." if self.review else "")
            return
        if self.showing_not_due:
            nd = next((n for n in self._not_due() if n.patient_id == pid), None)
            detail.update(plain(f"{nd.name}: {nd.reason}" if nd else ""))
            return
        r = self.rows[pid]
        names = self.review.condition_names
        conds = ", ".join(names.get(c, c) for c in r.conditions)
        lines = [f"{r.name}: {conds}"]
        if not r.included:
            lines.append(f"Unticked: {r.reason}. Press space to tick again.")
        if r.earlier:
            lines.append(f"Note: {r.earlier}.")
        for flag in r.flags:
            lines.append(f"Note: {FLAG_WORDS.get(flag, flag.replace('_', ' '))}")
        detail.update(plain("\n".join(lines)))

    @on(VirtualTable.Highlighted)
    def _row_highlighted(self) -> None:
        self._detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        if self.review is not None:
            self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(VirtualTable).focus()

    # -- actions ---------------------------------------------------------------------

    def action_back(self) -> None:
        if self.focused is self.query_one("#filter", TextBox):
            self.query_one(VirtualTable).focus()
            return
        if self.showing_not_due:
            self.action_not_due()
            return
        super().action_back()

    def action_filter(self) -> None:
        self.query_one("#filter", TextBox).focus()

    def action_not_due(self) -> None:
        if self.review is None:
            return
        self.showing_not_due = not self.showing_not_due
        self._fill()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The not-due list has no ticks and makes no letters: those keys leave the footer."""
        return not (action in ("toggle_row", "letters") and self.showing_not_due)

    def action_toggle_row(self) -> None:
        pid = self._current()
        if pid is None or self.showing_not_due or self.review is None:
            return
        r = self.rows[pid]
        if not r.included:
            self._apply(pid, True, "")
            return

        def answered(reason: str | None) -> None:
            if reason is not None:
                self._apply(pid, False, reason or "unticked by staff")

        self.app.push_screen(
            ReasonModal(
                f"Why leave out {r.name}?",
                placeholder="e.g. seen last week, in hospital, moving away",
                check=lambda text: reason_problem(self.ctx.db, text),
            ),
            answered,
        )

    def _apply(self, pid: int, included: bool, reason: str) -> None:
        """Show the change at once, then save it in the background (in order)."""
        row = replace(self.rows[pid], included=included, reason=reason)
        self.rows[pid] = row
        if not self.showing_not_due:
            self.query_one(VirtualTable).update_row(str(pid), self._cells(row))
        self._counts()
        self._detail()
        self._pending.append((pid, included, reason))
        self._save_toggles()

    @work(thread=True, exit_on_error=False, group="toggles")
    def _save_toggles(self) -> None:
        assert self.review is not None
        with self._lock:
            while self._pending:
                pid, included, reason = self._pending.popleft()
                set_included(self.ctx.db, self.review.batch.id, pid, included, reason)
                self.post_message(ToggleSaved(pid))

    def worker_failed(self, worker: object) -> None:
        # a failed save: show the list as the database has it
        self._pending.clear()
        self.load()

    def saving(self) -> bool:
        return bool(self._pending) or self._lock.locked()

    def action_letters(self) -> None:
        if self.review is None:
            return
        if self.saving():
            self.set_timer(0.2, self.action_letters)
            return
        ticked = sum(1 for r in self.rows.values() if r.included)
        if not ticked:
            self.notify("Nobody is ticked, so there are no letters to make.", severity="warning")
            return
        self._check_made()

    @work(thread=True, exclusive=True, exit_on_error=False, group="made")
    def _check_made(self) -> None:
        """Read the day the letters were made now (not when the list opened)."""
        assert self.review is not None
        made = made_on_earlier_day(self.ctx.db, self.review.batch.id, self.ctx.today)
        self.post_message(MadeChecked(made))

    @on(MadeChecked)
    def _made_checked(self, message: MadeChecked) -> None:
        """Made on an earlier day and not recorded as sent: ask before making them again."""
        if self.app.screen is not self:  # g pressed twice: the first answer is on screen
            return
        made_on = message.made_on
        if made_on is None:
            self._make_letters(again=False)
            return

        def chosen(choice: MadeEarlierChoice) -> None:
            if choice == "again":
                self._make_letters(again=True)
            elif choice == "sent" and self.review is not None:
                from recall.tui.screens.confirm import ConfirmSentScreen

                batch = self.review.batch  # the worksheet goes beside the letters
                self.app.push_screen(
                    ConfirmSentScreen(batch.id, str(self.title), batch.letters_dir, day=made_on)
                )

        self.app.push_screen(MadeEarlierModal(made_on, self.ctx.today), chosen)

    def _make_letters(self, *, again: bool) -> None:
        if self.review is None:
            return
        from recall.tui.screens.letters import LettersScreen

        ticked = sum(1 for r in self.rows.values() if r.included)
        self.app.push_screen(
            LettersScreen(self.review.batch.id, str(self.title), ticked, again=again)
        )
