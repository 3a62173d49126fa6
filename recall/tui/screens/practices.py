"""Choosing the practice to work on, in a database holding several (a PCN hub): the title bar
names the chosen one and every screen works on it alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from recall.services.practices import PracticeSummary, list_practices
from recall.tui.safe import cells
from recall.tui.screens.base import RecallScreen

SYSTEM_NAMES = {"systmone": "SystmOne", "emis": "EMIS Web"}


@dataclass
class PracticesLoaded(Message):
    practices: list[PracticeSummary]


class PracticePickerScreen(RecallScreen):
    """Every practice of the database; Enter works on the highlighted one."""

    TITLE = "Choose a practice"
    HELP = """\
This database holds several practices. Choose the one you are working on: every screen
(letters, the year dashboard, patients, tidy-up, settings) then shows and changes that
practice only, and the title bar names it.

Press **Enter** on a practice to work on it. Switch at any time with **p** on the home
screen, or **Ctrl+P** and "Switch practice".
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Work on this practice", id="choose", priority=True),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.practices: list[PracticeSummary] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Which practice are you working on?", id="picker-intro", classes="banner")
        yield DataTable(id="practices", cursor_type="row")
        yield Static("", id="picker-hint", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("ODS", width=7, key="ods")
        table.add_column("Practice", width=46, key="name")
        table.add_column("System", width=9, key="system")
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        self.post_message(PracticesLoaded(list_practices(self.ctx.db)))

    @on(PracticesLoaded)
    def _loaded(self, message: PracticesLoaded) -> None:
        self.practices = message.practices
        self.ctx.practices = tuple(message.practices)
        table = self.query_one(DataTable)
        table.clear()
        current = self.ctx.practice
        for p in self.practices:
            mark = "● " if current is not None and p.id == current.id else ""
            table.add_row(
                *cells(p.ods_code, mark + p.name, SYSTEM_NAMES.get(p.clinical_system, "")),
                key=str(p.id),
            )
            if current is not None and p.id == current.id:
                table.move_cursor(row=table.row_count - 1)
        hint = "Enter works on the highlighted practice."
        if current is None:
            hint += " Nothing is shown until a practice is chosen."
        self.query_one("#picker-hint", Static).update(hint)

    def action_choose(self) -> None:
        table = self.query_one(DataTable)
        if self.practices and 0 <= table.cursor_row < len(self.practices):
            self.recall_app.switch_practice(self.practices[table.cursor_row])

    def action_back(self) -> None:
        if self.ctx.practice is None:
            self.notify("Choose a practice first: every screen works on one.", timeout=4)
            return
        self.dismiss()
