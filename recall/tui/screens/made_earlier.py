"""The question `g` (Make letters) asks when the list's letters were already made on an
earlier day and are not yet recorded as sent.

A send date may not be before the day the letters were made, so making them again today
would lose the day they really went out. The safe answer (Esc, and Enter on the focused
button) changes nothing; `s` goes to "record as sent" on the day they were made; only `a`
makes them again.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from recall.tui.words import long_date

MadeEarlierChoice = Literal["sent", "again"] | None


def made_earlier_words(made_on: dt.date, today: dt.date) -> tuple[str, str]:
    """The question's title and body, in plain words."""
    title = f"These letters were already made on {long_date(made_on)}"
    body = (
        f"The letters for this list were made on {long_date(made_on)} and are not recorded "
        "as sent yet.\n\n"
        "If they went out, do not make them again: press s to record them as sent, on the "
        "day they went out.\n\n"
        f"Making them again dates the new letters today, {long_date(today)}, and they can "
        "then be recorded as sent no earlier than today."
    )
    return title, body


class MadeEarlierModal(ModalScreen[MadeEarlierChoice]):
    """s: record as sent · a: make the letters again (dated today) · Esc: cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "choose('sent')", "Record as sent", id="record_sent"),
        Binding("a", "choose('again')", "Make again", id="make_again"),
        Binding("escape", "cancel", "Cancel", id="cancel"),
    ]

    def __init__(self, made_on: dt.date, today: dt.date) -> None:
        super().__init__()
        self.made_on = made_on
        self.today = today

    def compose(self) -> ComposeResult:
        title, body = made_earlier_words(self.made_on, self.today)
        with Vertical(classes="dialog -warning", id="made-earlier"):
            yield Label(title, classes="dialog-title", markup=False)
            yield Static(body, id="made-earlier-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Record as sent (s)", variant="primary", id="sent")
                yield Button("Make again (a)", variant="warning", id="again")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()  # Enter on the focused button changes nothing

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "sent":
            self.dismiss("sent")
        elif event.button.id == "again":
            self.dismiss("again")
        else:
            self.dismiss(None)

    def action_choose(self, choice: Literal["sent", "again"]) -> None:
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
