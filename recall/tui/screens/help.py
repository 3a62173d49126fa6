"""`?` on any screen: what this screen is for and every key it answers to."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Markdown, Static

GENERAL = """\
**Anywhere:** `Esc` goes back (you are asked first if anything would be lost) ·
`Ctrl+P` opens the command list, where you can type the name of any screen ·
`?` shows this help · `Ctrl+Q` quits.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close help", id="close")
    ]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        text = str(getattr(self.for_screen, "HELP", "") or "")
        keys = []
        seen = set()
        also: frozenset[str] = getattr(self.for_screen, "HELP_KEYS", frozenset())
        for _key, active in self.for_screen.active_bindings.items():
            b = active.binding
            if not b.description or b.description in seen or not (b.show or b.id in also):
                continue
            seen.add(b.description)
            keys.append(f"  {self.app.get_key_display(b):>8}  {b.description}")
        with Vertical(classes="dialog -help"):
            yield Label(f"Help: {self.for_screen.title or 'recall'}", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static("Keys on this screen:\n" + "\n".join(keys), markup=False)
                if text:
                    yield Markdown(text)
                yield Markdown(GENERAL)
            yield Static("Esc or ? to close", classes="hint")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
