"""Small reusable widgets and modal dialogs shared by the screens."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static

from recall.tui.safe import plain
from recall.tui.virtual_table import fit_widths


class TextBox(Input):
    """An Input that follows the app's cursor-blink setting (off in tests and snapshots)."""

    def on_mount(self) -> None:
        self.cursor_blink = bool(getattr(self.app, "cursor_blink", True))


class OnOffBox(Checkbox):
    """A check box that reads as it is: "[X] On" when ticked, "[ ] Off" when not (a plain
    Checkbox draws its X either way, only in another colour)."""

    def __init__(self, value: bool = False, *, id: str | None = None) -> None:
        super().__init__("On" if value else "Off", value, id=id)

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "

    def watch_value(self) -> None:
        super().watch_value()
        self.label = "On" if self.value else "Off"


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question; y/Enter says yes, n/Esc says no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="yes"),
        Binding("n,escape", "answer(False)", "No", id="no"),
    ]

    def __init__(self, question: str, detail: str = "", yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.question), classes="dialog-title")
            if self.detail:
                with VerticalScroll(classes="dialog-body"):
                    yield Static(plain(self.detail))
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes_label} (y)", variant="primary", id="yes")
                yield Button(f"{self.no_label} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ReasonModal(ModalScreen[str | None]):
    """Ask for a short reason (e.g. why a patient is left out); Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(
        self,
        question: str,
        placeholder: str = "",
        value: str = "",
        check: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.value = value
        self.check = check  # "" when the text is fine, else why it would be refused

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.question), classes="dialog-title")
            yield TextBox(value=self.value, placeholder=self.placeholder, id="reason")
            yield Static("", id="reason-error", classes="error-text")
            yield Static("Enter to save · Esc to cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason-error", Static).display = False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        problem = self.check(text) if self.check is not None else ""
        if problem:  # stay open with what was typed, so it can be put right
            error = self.query_one("#reason-error", Static)
            error.update(plain(problem[:1].upper() + problem[1:]))
            error.display = True
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MessageModal(ModalScreen[None]):
    """A message with an optional list of problems (one per line); any of Enter/Esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "Close", id="close")]

    def __init__(self, title: str, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.problems = list(problems)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -error"):
            yield Label(plain(self.title_text), classes="dialog-title")
            yield Static(plain(self.message))
            if self.problems:
                with VerticalScroll(classes="dialog-body"):
                    yield Static(plain("\n".join(self.problems)))
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (Enter)", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


SEGMENTS = (
    ("achieved", "█", "$success", "reviewed"),
    ("eligible", "█", "$primary", "can be excepted"),
    ("invited", "▓", "$warning", "invited"),  # not (yet) excepted: once, or where no one can be
    ("not_invited", "░", "$foreground-muted", "not invited"),
)


def stacked_bar(counts: dict[str, int], width: int) -> Content:
    """A one-line bar split into coloured parts in proportion to `counts`."""
    total = sum(counts.values())
    if total <= 0 or width <= 0:
        return Content.from_markup("[$foreground-muted]" + "·" * width + "[/]")
    parts: list[tuple[str, int]] = []
    used = 0
    for key, *_ in SEGMENTS:
        n = round(counts.get(key, 0) * width / total)
        parts.append((key, n))
        used += n
    # put any rounding difference on the largest part, so the bar is always `width` wide
    if parts and used != width:
        i = max(range(len(parts)), key=lambda j: parts[j][1])
        parts[i] = (parts[i][0], max(parts[i][1] + width - used, 0))
    markup = ""
    for (key, n), (_, glyph, colour, _) in zip(parts, SEGMENTS, strict=True):
        if n:
            markup += f"[{colour}]{glyph * n}[/]"
        del key
    return Content.from_markup(markup)


def legend(leave_out: Collection[str] = ()) -> Content:
    """The bars' key; `leave_out` names segments no bar on screen can have."""
    return Content.from_markup(
        "  ".join(
            f"[{colour}]{glyph}[/] {words}"
            for key, glyph, colour, words in SEGMENTS
            if key not in leave_out
        )
    )


def add_columns(table: DataTable[object], *columns: tuple[str, int]) -> None:
    """Columns of fixed width: the table looks the same before and after it measures rows."""
    for label, width in columns:
        table.add_column(label, width=width, key=label)


def fit_columns(
    table: DataTable[object], columns: Sequence[tuple[str, int]], rows: list[list[str]], total: int
) -> list[int]:
    """Empty the table and set its column widths for these rows: each column at least its
    usual width, wider (up to its longest value) when the screen has room."""
    widest = [
        max([*(len(x) for x in label.split("\n")), *(len(r[i]) for r in rows)])
        for i, (label, _) in enumerate(columns)
    ]
    base = [w for _, w in columns]
    widths = fit_widths(base, widest, max(total - 2, sum(w + 2 for w in base)))  # 2: scrollbar
    table.clear(columns=True)
    add_columns(table, *((label, w) for (label, _), w in zip(columns, widths, strict=True)))
    return widths


def fit_text(text: str, width: int) -> str:
    """Text for a fixed column: whole, or visibly shortened ("…"); the line below has it all."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
