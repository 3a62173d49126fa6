"""The monthly run, steps 5 and 6: "Sent today?" (listing exactly which codes go on which
date), then the coding worksheet and what to do next in the clinical system."""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Static

from recall.domain.nhs import format_nhs_number
from recall.importers.values import parse_date
from recall.services.batches import ConfirmResult, confirm_batch, get_batch
from recall.services.errors import Refused
from recall.services.letters import default_letters_dir
from recall.services.views.run_view import (
    PlannedCode,
    UncodedCondition,
    codes_to_record,
    uncoded_conditions,
)
from recall.services.views.settings_view import clinical_system_name
from recall.services.worksheet import WorksheetFiles, export_worksheet
from recall.tui.paths import PathText
from recall.tui.safe import line, plain
from recall.tui.screens.base import RecallScreen
from recall.tui.widgets import ReasonModal
from recall.tui.words import long_date, plural, short_date


def parse_day(text: str) -> dt.date | None:
    """A date as staff type it (26/11/2026 or 2026-11-26), read by the importer's parser."""
    try:
        return parse_date(text)
    except ValueError:
        return None


@dataclass
class CodesLoaded(Message):
    codes: list[PlannedCode]
    names: dict[int, str]
    system: str
    letters_made_on: dt.date | None = None
    uncoded: list[UncodedCondition] = field(default_factory=list)


@dataclass
class Confirmed(Message):
    result: ConfirmResult


@dataclass
class ConfirmRefused(Message):
    message: str
    problems: list[dict[str, str]]


class ConfirmSentScreen(RecallScreen):
    HELP = """\
Only say yes once the letters have actually gone out (printed and posted, or the texts sent).
The tool then records the codes listed, all dated the day they went out, so that patients who
do not reply can be excepted later. The day must be today or earlier.

* **y** records the codes dated the day in the question (today, or the day the letters were
  made when you came here from "already made on an earlier day").
* **d** lets you type another day, if the letters went out on another day.
* If some patients cannot be coded (for example, their last letter was less than 7 days
  ago), they are listed; **x** leaves them out and records everybody else.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes, record", id="confirm"),
        Binding("d", "other_day", "Another day", id="other_day"),
        Binding("x", "leave_out", "Leave them out", id="leave_out"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(
        self, batch_id: int, title: str, folder: str | None = None, day: dt.date | None = None
    ) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.title = title
        self.folder = folder
        self.first_day = day  # the day to ask about first (default today)
        self.day: dt.date | None = None
        self.leave_out: set[int] = set()
        self.problem_ids: set[int] = set()
        self.names: dict[int, str] = {}
        self.system = "the clinical system"
        self.letters_made_on: dt.date | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        # the body scrolls (keys and mouse) under a fixed footer: a long list of codes at
        # 80x24 keeps its last lines reachable
        with VerticalScroll(classes="form", id="confirm-body"):
            yield Static("", id="sent-question", classes="banner")
            yield Static("Working out the codes…", id="codes")
            with Vertical(classes="panel -warning", id="problems-panel") as panel:
                panel.border_title = "Cannot record yet"
                yield Static("", id="problems")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.day = self.first_day or self.ctx.today
        self.query_one("#problems-panel").display = False
        self.query_one("#confirm-body").focus()
        self._question()
        self.load()

    def _question(self) -> None:
        assert self.day is not None
        when = "today, " if self.day == self.ctx.today else "on "
        self.query_one("#sent-question", Static).update(
            f"Did these letters go out {when}{long_date(self.day)}?"
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="codes")
    def load(self) -> None:
        leave_out = frozenset(self.leave_out)
        db = self.ctx.db
        codes = codes_to_record(db, self.batch_id, leave_out=leave_out, sent_on=self.day)
        uncoded = uncoded_conditions(db, self.batch_id, leave_out=leave_out, sent_on=self.day)
        plan = get_batch(db, self.batch_id)
        names = {x.patient_id: x.name for x in plan.invitations}
        system = clinical_system_name(db, practice_id=self.ctx.practice_id)
        self.post_message(CodesLoaded(codes, names, system, plan.batch.letters_made_on, uncoded))

    @on(CodesLoaded)
    def _codes(self, message: CodesLoaded) -> None:
        self.names = message.names
        self.system = message.system
        self.letters_made_on = message.letters_made_on
        self._show_codes(message.codes, message.uncoded)

    def _show_codes(self, codes: list[PlannedCode], uncoded: list[UncodedCondition]) -> None:
        assert self.day is not None
        if not codes:
            self.query_one("#codes", Static).update("Nobody is left to record.")
            return
        people = codes[0].count if codes[0].condition is None else 0
        text = Text()
        text.append(f"Saying yes records these codes, all dated {short_date(self.day)}:\n\n")
        for c in codes:
            text.append(f"  {c.code:<18}", style="bold")
            text.append(f"{c.label:<26}")
            text.append(f"{plural(c.count, 'patient'):>14}\n")
            if c.term:  # the whole term, wrapped under the code: never cut mid-word
                for part in textwrap.wrap(line(c.term), 56):
                    text.append(f"  {'':<18}{part}\n", style="dim")
        stage = next((c.label for c in codes if c.condition is None), "")
        for u in uncoded:  # e.g. depression from 2025/26: good care, but no QOF code
            added = f"only the {stage} is added" if stage else "no code is added"
            text.append(
                f"\n{u.name} ({plural(u.count, 'patient')}): {added} (no QOF code is needed "
                f"from {u.since})."
            )
        if uncoded:
            text.append("\n")
        text.append(
            f"\nThat is {plural(people, 'patient')}. Afterwards you add the same codes, with "
            f"the same date, in {self.system}: the next screen lists them."
        )
        self.query_one("#codes", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_out":
            return bool(self.problem_ids - self.leave_out)
        return True

    def action_other_day(self) -> None:
        # the example is a day the box accepts: the day the letters were made, else today
        example = f"{self.letters_made_on or self.ctx.today:%d/%m/%Y}"

        def answered(text: str | None) -> None:
            if text is None:
                return
            day = parse_day(text)
            if day is None:
                self.notify(f"Type the day like {example}.", severity="error")
                return
            if day > self.ctx.today:
                self.notify("That day is in the future: letters can only be recorded once sent.")
                return
            made = self.letters_made_on
            if made is not None and day < made:
                self.notify(
                    f"The letters were made on {long_date(made)}: they cannot have gone out "
                    "before that day.",
                    severity="error",
                )
                return
            self.day = day
            self._question()
            self.load()

        self.app.push_screen(
            ReasonModal("Which day did the letters go out?", placeholder=f"e.g. {example}"),
            answered,
        )

    def action_leave_out(self) -> None:
        self.leave_out |= self.problem_ids
        self.query_one("#problems-panel").display = False
        self.query_one("#problems", Static).update("")
        self.notify(
            f"{plural(len(self.problem_ids), 'patient')} will be left out. Press y to record "
            "the rest."
        )
        self.problem_ids = set()
        self.refresh_bindings()
        self.load()

    def action_confirm(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.query_one("#sent-question", Static).update("Recording the codes…")
        self.record()

    @work(thread=True, exclusive=True, exit_on_error=False, group="confirm")
    def record(self) -> None:
        try:
            result = confirm_batch(
                self.ctx.db,
                self.batch_id,
                self.day,
                exclude_patient_ids=sorted(self.leave_out),
                today=self.ctx.today,
            )
        except Refused as exc:
            self.post_message(ConfirmRefused(str(exc), exc.problems))
            return
        self.post_message(Confirmed(result))

    def unsaved_work(self) -> str:
        if self.busy:
            return "The codes are being recorded. If you leave, that carries on and finishes."
        return ""

    def worker_failed(self, worker: object) -> None:
        self.busy = False
        self._question()

    @on(ConfirmRefused)
    def _refused(self, message: ConfirmRefused) -> None:
        self.busy = False
        self._question()
        ids = {int(p["patient_id"]) for p in message.problems if p.get("patient_id")}
        self.problem_ids = ids
        lines = []
        if ids:
            lines.append(
                f"Nothing was recorded. {plural(len(ids), 'patient')} cannot be coded on "
                f"{short_date(self.day)}:"
            )
            for p in message.problems:
                pid = int(p.get("patient_id") or 0)
                who = self.names.get(pid, "")
                nhs = format_nhs_number(p.get("nhs_number", ""))
                lines.append(f"• {who} ({nhs}): {p.get('reason', '')}")
            lines.append("")
            lines.append("Press x to leave them out and record everybody else.")
        else:
            lines.append(f"Nothing was recorded: {message.message}.")
        panel = self.query_one("#problems-panel")
        panel.display = True
        self.query_one("#problems", Static).update(plain("\n".join(lines)))
        self.refresh_bindings()
        panel.scroll_visible()

    @on(Confirmed)
    def _confirmed(self, message: Confirmed) -> None:
        folder = self.folder or (
            str(self.ctx.out_dir / f"batch-{self.batch_id}")
            if self.ctx.out_dir
            else str(default_letters_dir(self.batch_id, self.ctx.db))
        )
        done = DoneScreen(self.batch_id, str(self.title), message.result, Path(folder))
        # the run is finished: nothing to go back to, so the stack returns to home
        while len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        self.app.push_screen(done)


@dataclass
class WorksheetWritten(Message):
    files: WorksheetFiles
    system: str


class DoneScreen(RecallScreen):
    HELP = """\
The codes are recorded here. They must also go into the clinical system, with the same dates,
or the practice cannot except non-responders. The coding worksheet lists them grouped by date
and code, ready for the clinical system's bulk-add. Press **Enter** to go home.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "home", "Home", id="home"),
        Binding("escape", "home", "Home", show=False, id="back"),
    ]

    def __init__(self, batch_id: int, title: str, result: ConfirmResult, folder: Path) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.title = f"Done: {title}"
        self.result = result
        self.folder = folder

    def compose(self) -> ComposeResult:
        r = self.result
        people = len({c.patient_id for c in r.codes})
        day = r.batch.sent_on
        yield Header()
        with VerticalScroll(classes="form", id="done-body"):
            yield Static(
                f"✓ Recorded {plural(len(r.codes), 'code')} for {plural(people, 'patient')}, "
                f"dated {short_date(day)}.",
                classes="ok-text",
            )
            yield Static("Writing the coding worksheet…", id="worksheet")
            if r.warnings:
                yield Static(
                    plain(
                        f"Recorded with {plural(len(r.warnings), 'warning')} "
                        "(↑/↓ to scroll; the same list is in recall batch show --json):\n"
                        + "\n".join(
                            f"• {format_nhs_number(w.get('nhs_number', ''))}: {w.get('reason', '')}"
                            for w in r.warnings
                        )
                    ),
                    classes="hint",
                    id="done-warnings",
                )
            if r.dropped:
                yield Static(
                    plain(
                        "Not recorded:\n"
                        + "\n".join(f"• {d.name}: {d.reason}" for d in r.dropped[:20])
                        + (f"\n… and {len(r.dropped) - 20} more" if len(r.dropped) > 20 else "")
                    ),
                    classes="hint",
                )
            if r.take_out:
                yield Static(
                    plain(
                        "Made but not recorded, so keep these out of the post:\n"
                        + "\n".join(f"• {t}" for t in r.take_out)
                    ),
                    classes="panel -warning",
                    id="take-out",
                )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#done-body").focus()  # arrow keys scroll a long list of warnings
        self.write_sheet()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def write_sheet(self) -> None:
        folder = self.folder
        files = export_worksheet(
            self.ctx.db,
            self.batch_id,
            folder / f"coding-worksheet-batch-{self.batch_id}.csv",
            docx=folder / f"coding-worksheet-batch-{self.batch_id}.docx",
        )
        system = clinical_system_name(self.ctx.db, practice_id=self.ctx.practice_id)
        self.post_message(WorksheetWritten(files, system))

    @on(WorksheetWritten)
    def _written(self, message: WorksheetWritten) -> None:
        f = message.files
        system = message.system
        lines = [
            f"Coding worksheet: {f.csv}",
            f"To print: {f.docx}",
            "",
            f"Next, in {system}:",
            "1. Open the worksheet: patients are grouped by date and code.",
            "2. For each group, bulk-add the code to those patients, dated as shown:",
        ]
        for g in f.groups[:12]:
            lines.append(f"   {short_date(g.date):<12} {g.code:<18} {plural(g.count, 'patient')}")
        if len(f.groups) > 12:
            lines.append(f"   … and {len(f.groups) - 12} more groups")
        lines.append(f"3. Later, import {system}'s events: the tool checks every code got there.")
        self.query_one("#worksheet", Static).update(PathText("\n".join(lines)))

    def action_home(self) -> None:
        self.app.pop_screen()
