"""The app factory used by `recall` (no sub-command) and by the tests.

The app knows screens and keys only; every read and write goes through recall.services, run
in thread workers so the interface never freezes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen

from recall.services.infra.database import open_database
from recall.services.practices import PracticeSummary, choose_practice, list_practices
from recall.tui.context import AppContext
from recall.tui.screens.help import HelpScreen
from recall.tui.screens.home import HomeScreen

# name -> (palette title, palette help, screen factory); filled by `_screens()`
ScreenFactory = Callable[[], Screen[None]]


def _screens() -> dict[str, tuple[str, str, ScreenFactory]]:
    from recall.tui.screens.backfill import BackfillScreen
    from recall.tui.screens.imports import ImportScreen
    from recall.tui.screens.patients import PatientSearchScreen
    from recall.tui.screens.run import ChooseRunScreen
    from recall.tui.screens.settings import CodesScreen, SettingsScreen
    from recall.tui.screens.year import YearScreen

    return {
        "home": ("Home", "This month's letters, the year's progress, warnings", HomeScreen),
        "run": (
            "Send this month's letters",
            "Choose 1st, 2nd or 3rd invitation letters, check the list, print, record codes",
            ChooseRunScreen,
        ),
        "year": (
            "Year dashboard",
            "Each condition's reviews, exceptions and invitations this QOF year; who is behind a "
            "number; the 2nd-letter backlog",
            YearScreen,
        ),
        "backfill": (
            "Tidy up earlier coding (backfill)",
            "Add codes missing from earlier invitations, on their original dates",
            BackfillScreen,
        ),
        "patients": (
            "Find a patient",
            "Search by name, NHS number or date of birth; see their invitations this year",
            PatientSearchScreen,
        ),
        "import": (
            "Import a file",
            "Patients, registers or coded events exported from the clinical system",
            ImportScreen,
        ),
        "settings": (
            "Settings",
            "Practice details, recall month, days between letters, clinical system",
            SettingsScreen,
        ),
        "codes": (
            "Code lists",
            "Which conditions can be coded, and how to fix the ones that cannot",
            CodesScreen,
        ),
    }


class RecallApp(App[None]):
    """The whole terminal UI. Build it with `make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "recall"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="help"),
        Binding("f1", "help", "Help", show=False, id="help_f1"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit_app"),
    ]

    def __init__(self, ctx: AppContext, *, theme: str | None = None, cursor_blink: bool = True):
        super().__init__()
        self.ctx = ctx
        self.cursor_blink = cursor_blink
        self.screen_factories = _screens()
        self.startup_notice = ""
        if theme:
            self.theme = theme

    def format_title(self, title: str, sub_title: str) -> Content:
        """The screen's title whole: the practice name is left out when both do not fit (in a
        PCN database its ODS code stays, so the title bar always says which practice)."""
        room = self.size.width - 16  # the header's icon and its right-hand margin
        if sub_title and len(title) + 3 + len(sub_title) > room:
            chosen = self.ctx.practice if self.ctx.several else None
            sub_title = chosen.ods_code if chosen is not None else ""
        return super().format_title(title, sub_title)

    def practice_title(self, letterhead: str) -> str:
        """What the title bar says after the screen's title: the letterhead name, or in a PCN
        database the chosen practice's ODS code and name."""
        p = self.ctx.practice
        if self.ctx.several and p is not None:
            return f"{p.ods_code} · {p.name}"
        return letterhead

    def switch_practice(self, practice: PracticeSummary, *, then: str | None = None) -> None:
        """Work on `practice` from now on: back to its home screen (then `then`, if given)."""
        self.ctx.practice = practice
        self.sub_title = self.practice_title(practice.name)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        home = self.screen_stack[0]
        if isinstance(home, HomeScreen):
            home.practice_changed()
        if then is not None:
            self.action_open(then)

    def action_choose_practice(self) -> None:
        from recall.tui.screens.practices import PracticePickerScreen

        if self.ctx.several and not isinstance(self.screen, PracticePickerScreen):
            self.push_screen(PracticePickerScreen())

    def action_pcn_overview(self) -> None:
        from recall.tui.screens.pcn import PcnOverviewScreen

        if self.ctx.several and not isinstance(self.screen, PcnOverviewScreen):
            self.push_screen(PcnOverviewScreen())

    def on_mount(self) -> None:
        if self.startup_notice:
            self.notify(self.startup_notice, title="recall", timeout=15)

    def get_default_screen(self) -> Screen[None]:
        return HomeScreen()

    def action_open(self, name: str) -> None:
        """Open a top-level screen on top of the current one (Esc comes back here)."""
        _title, _help, factory = self.screen_factories[name]
        if name == "home":
            while len(self.screen_stack) > 1 and not self.screen.is_modal:
                self.pop_screen()
            return
        self.push_screen(factory())

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for name, (title, help_text, _factory) in self.screen_factories.items():
            yield SystemCommand(title, help_text, lambda name=name: self.action_open(name))
        if self.ctx.several:
            yield SystemCommand(
                "Switch practice",
                "Choose which of this database's practices every screen works on",
                self.action_choose_practice,
            )
            yield SystemCommand(
                "PCN overview",
                "Every practice x condition: reviewed, excepted, invited, 2nd-letter backlog",
                self.action_pcn_overview,
            )
        yield SystemCommand("Help", "What this screen is for and its keys", self.action_help)
        yield from super().get_system_commands(screen)


def make_app(
    db_url: str | None = None,
    today: dt.date | None = None,
    *,
    theme: str | None = None,
    cursor_blink: bool = True,
    out_dir: Path | None = None,
    make_pdf: bool = True,
    practice: str | None = None,
) -> RecallApp:
    """The app over the database at `db_url` (migrated on open). Tests inject `today`.

    `practice`: the ODS code to work on; in a database of several practices without one,
    the app opens on the practice picker."""
    db = open_database(db_url)
    ctx = AppContext(db, today_override=today, out_dir=out_dir, make_pdf=make_pdf)
    ctx.practices = tuple(list_practices(db))
    if practice or len(ctx.practices) == 1:
        ctx.practice = choose_practice(db, practice)
    return RecallApp(ctx, theme=theme, cursor_blink=cursor_blink)


def run_app(db_url: str | None = None, notice: str = "", practice: str | None = None) -> None:
    """Open the terminal UI (what `recall` with no sub-command does); `notice` is shown on
    start (the demo says where its database is: text printed before is hidden by the UI)."""
    app = make_app(db_url, practice=practice)
    app.startup_notice = notice
    try:
        app.run()
    finally:
        app.ctx.db.dispose()
