"""Home: today's date, the QOF year countdown, letters due this month, the year's progress per
condition and anything that needs attention. Every other screen is one key away."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Header, Static

from recall.domain.invitations import ORDINAL
from recall.services.views.dashboard import (
    Dashboard,
    PcaBar,
    StageDue,
    TidyUpGain,
    UnsentLetters,
    due_options,
    load_dashboard,
    pca_bars,
    stage_totals,
    tidy_up_gain,
)
from recall.tui.safe import line
from recall.tui.screens.base import RecallScreen
from recall.tui.widgets import legend, stacked_bar
from recall.tui.words import long_date, month_name, plural, short_date

NO_PCA = " (no PCA)"  # after a condition's name: nobody can be excepted for it this year


@dataclass
class DashboardLoaded(Message):
    """The worker finished reading the dashboard."""

    dashboard: Dashboard


@dataclass
class DueCounted(Message):
    stages: tuple[StageDue, ...]


@dataclass
class ProgressCounted(Message):
    bars: tuple[PcaBar, ...]


@dataclass
class BackfillCounted(Message):
    gain: TidyUpGain


def bar_parts(bar: PcaBar) -> dict[str, int]:
    """A condition's bar: every invited patient is drawn as invited, even where the
    invitations do not count yet (twice too close together, or only the generic code)."""
    return {
        "achieved": bar.achieved,
        "eligible": bar.eligible,  # none where nobody can be excepted this year
        "invited": bar.invited_once + bar.invited_twice + bar.other,
        "not_invited": bar.not_invited,
    }


class HomeScreen(RecallScreen):
    TITLE = "Home"
    HELP = """\
The home screen shows what needs doing this month.

* **Letters due** – how many patients are due a 1st, 2nd or 3rd invitation letter this month.
  "Waiting" means their last letter went out recently, so the next one is not due yet.
* **This year's reviews** – for each condition, how far the QOF year has got: reviewed,
  can be excepted (invited twice, at least 7 days apart), invited (once, or not yet in a
  way that counts: twice too close together, or only the generic code), not invited.
  "Done" counts the patients who were reviewed or can be excepted. A condition marked
  "(no PCA)" has no QOF exception this year (for example depression from 2025/26): nobody
  can be excepted, so its bar shows reviewed, invited and not invited only.
* **Needs attention** – letters made but not yet recorded as sent, conditions the tool
  cannot code yet, codes you still need to add in the clinical system, and old coding that
  the tidy-up can fix.

Press **r** to send this month's letters, **y** for the year dashboard (every condition's
numbers, and the patients behind each one).
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "app.open('run')", "Letters", id="run"),
        Binding("y", "app.open('year')", "Year", id="year"),
        Binding("b", "app.open('backfill')", "Tidy-up", id="backfill"),
        Binding("f", "app.open('patients')", "Find", id="find"),
        Binding("i", "app.open('import')", "Import", id="import"),
        Binding("s", "app.open('settings')", "Settings", id="settings"),
        # the footer holds no more at 80 columns with q Quit and ? Help in view: Needs
        # attention says "press c" when code lists need work, and Ctrl+P lists "Code lists"
        Binding("c", "app.open('codes')", "Codes", show=False, id="codes"),
        # several practices only; the title bar names the practice, and Ctrl+P lists
        # "Switch practice" and "PCN overview"
        Binding("p", "practice", "Practice", show=False, id="practice"),
        Binding("o", "pcn", "PCN overview", show=False, id="pcn"),
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("escape", "back", "Back", show=False, id="back"),
    ]

    HELP_KEYS = frozenset({"codes", "practice", "pcn"})

    dashboard: Dashboard | None = None
    stages: tuple[StageDue, ...] = ()
    bars: tuple[PcaBar, ...] = ()
    tidy_up = TidyUpGain()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="home"):
            yield Static("Loading…", id="home-today", classes="banner")
            with Vertical(classes="panel", id="due-panel") as due:
                due.border_title = "Letters due this month"
                yield Static("", id="due")
            with Vertical(classes="panel", id="pca-panel") as pca:
                pca.border_title = "This year's reviews"
                yield Static("", id="pca")
            pca.border_subtitle = legend()
            with Vertical(classes="panel -warning", id="warn-panel") as warn:
                warn.border_title = "Needs attention"
                yield Static("", id="warnings")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.ctx.several and self.ctx.practice is None:
            self.app.call_later(self.app.run_action, "choose_practice")
            return
        self.refresh_dashboard()

    def on_screen_resume(self) -> None:
        if self.dashboard is not None:
            self.refresh_dashboard()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The practice and PCN keys only where there are several practices."""
        if action in ("practice", "pcn"):
            return self.ctx.several
        return True

    def action_practice(self) -> None:
        self.recall_app.action_choose_practice()

    def action_pcn(self) -> None:
        self.recall_app.action_pcn_overview()

    def practice_changed(self) -> None:
        """Another practice was chosen: forget this one's numbers and count again."""
        self.dashboard, self.stages, self.bars, self.tidy_up = None, (), (), TidyUpGain()
        self.query_one("#home-today", Static).update("Loading…")
        for widget in ("#due", "#pca", "#warnings"):
            self.query_one(widget, Static).update("")
        self.refresh_dashboard()

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def refresh_dashboard(self) -> None:
        """Cheap numbers first, then each panel as soon as its numbers are ready."""
        db, today, pid = self.ctx.db, self.ctx.today, self.ctx.practice_id
        self.post_message(DashboardLoaded(load_dashboard(db, today, practice_id=pid)))
        self.post_message(DueCounted(stage_totals(due_options(db, today, practice_id=pid))))
        self.post_message(ProgressCounted(pca_bars(db, today, practice_id=pid)))
        self.post_message(BackfillCounted(tidy_up_gain(db, today, practice_id=pid)))

    @on(DashboardLoaded)
    def _show(self, message: DashboardLoaded) -> None:
        d = self.dashboard = message.dashboard
        self.app.sub_title = line(self.recall_app.practice_title(d.practice_name))
        self.query_one("#home-today", Static).update(
            Content.from_markup(
                "[b]$day[/b] · QOF year $year · [b]$left[/b] to 31 March",
                day=long_date(d.today),
                year=d.qof_year,
                left=plural(d.days_left, "day"),
            )
        )
        self.query_one("#due-panel").border_title = f"Letters due in {d.month_name}"
        self.query_one("#pca-panel").border_title = f"This year's reviews (QOF {d.qof_year})"
        if d.patients == 0:
            self.query_one("#due", Static).update(
                "No patients yet. Press i to import your practice's lists."
            )
        elif not self.stages:
            self.query_one("#due", Static).update("Counting…")
        if not self.bars:
            self.query_one("#pca", Static).update("Counting…" if d.patients else "")
        self.query_one("#warnings", Static).update(self._warnings_text(d))

    @on(DueCounted)
    def _due(self, message: DueCounted) -> None:
        self.stages = message.stages
        if self.dashboard is not None and self.dashboard.patients:
            self.query_one("#due", Static).update(self._due_text(message.stages))

    @on(ProgressCounted)
    def _progress(self, message: ProgressCounted) -> None:
        self.bars = message.bars
        self.query_one("#pca", Static).update(self._pca_text(message.bars))
        # the key names "can be excepted" only when some bar on screen can have it
        shown = [b for b in message.bars if b.ready] or list(message.bars)
        panel = self.query_one("#pca-panel")
        panel.border_subtitle = legend(() if any(b.can_except for b in shown) else ("eligible",))

    @on(BackfillCounted)
    def _backfill(self, message: BackfillCounted) -> None:
        self.tidy_up = message.gain
        if self.dashboard is not None:
            self.query_one("#warnings", Static).update(self._warnings_text(self.dashboard))

    def _due_text(self, stages: tuple[StageDue, ...]) -> Content:
        lines = []
        for s in stages:
            line = f"{ORDINAL[s.stage]} letters  {s.due:>6,} due"
            if s.waiting:
                line += f" · {s.waiting:,} waiting"
                if s.next_due:
                    line += f" (next due {short_date(s.next_due)})"
            lines.append(line)
        return Content("\n".join(lines))

    def _pca_text(self, bars: tuple[PcaBar, ...]) -> Content:
        if not bars:
            return Content("Nobody is on a condition register yet.")
        rows = []
        hidden = [b for b in bars if not b.ready]
        shown = [b for b in bars if b.ready] or list(bars)
        for bar in shown:
            counts = bar_parts(bar)
            done = bar.achieved + bar.eligible
            pct = round(100 * done / bar.register) if bar.register else 0
            name = bar.name[:22]
            if not bar.pca_applies:  # as the year screen's n/a: nobody can be excepted
                name = f"{bar.name[: 22 - len(NO_PCA)]}{NO_PCA}"
            rows.append(
                Content.assemble(
                    f"{name:<22} ",
                    stacked_bar(counts, 28),
                    f" {pct:>3}% done of {bar.register:,}",
                )
            )
        backlog = sum(b.need_second for b in bars)
        if backlog:
            rows.append(
                Content(
                    f"{backlog:,} conditions invited once can still be excepted with a 2nd "
                    "invitation by 31 March (as recall pca counts them)."
                )
            )
        if hidden and len(shown) < len(bars):
            rows.append(
                Content.styled(
                    f"{plural(len(hidden), 'other condition')} not shown: they cannot be "
                    "coded yet (press c).",
                    "$text-muted",
                )
            )
        return Content("\n").join(rows)

    def _warnings_text(self, d: Dashboard) -> Content:
        lines = [self._unsent_line(u) for u in d.unsent]
        if d.blocked:
            names = ", ".join(r.name for r in d.blocked[:4])
            more = f" and {len(d.blocked) - 4} more" if len(d.blocked) > 4 else ""
            lines.append(
                f"• {plural(len(d.blocked), 'condition')} cannot be coded yet: {names}{more}. "
                "Press c to see how to fix, or import the official code lists at once: "
                "recall codes import-release FOLDER."
            )
        if d.unreconciled:
            lines.append(
                f"• {plural(d.unreconciled, 'code')} not yet seen in the clinical system "
                "(import its events to check)."
            )
        gain = self.tidy_up
        if gain.codes and gain.exceptable:
            lines.append(
                f"• {plural(gain.codes, 'code')} missing from earlier invitations can be added, "
                f"so {plural(gain.exceptable, 'more patient')} can be excepted. Press b to tidy up."
            )
        elif gain.codes and gain.counted:
            lines.append(
                f"• {plural(gain.codes, 'code')} missing from earlier invitations can be added, "
                f"so that the letters of {plural(gain.counted, 'patient')} count: a 2nd letter can "
                "then except them. Press b to tidy up."
            )
        elif gain.codes:  # changes no one's PCA status: record-keeping, not a task
            lines.append(
                f"• Optional: {plural(gain.codes, 'code')} missing from earlier invitations can "
                "be added to tidy the records (b); they change no patient's PCA status."
            )
        lines.extend(f"• {note}" for note in d.notes)
        return Content("\n".join(lines) if lines else "Nothing needs attention.")

    @staticmethod
    def _unsent_line(u: UnsentLetters) -> str:
        """Letters made but not recorded as sent: their codes are not recorded until they are."""
        made = f"made on {u.made_on:%a} {short_date(u.made_on)} for {plural(u.patients, 'patient')}"
        if u.kind != "monthly":
            return (
                f"• Letters of batch {u.batch_id} {made}, not yet recorded as sent. Once they "
                f"are posted, record them: recall batch confirm {u.batch_id}."
            )
        which = f"{ORDINAL[u.stage]} letters"
        if u.stage == 1:
            which += f" for {month_name(u.month)}"
        return (
            f"• {which} {made}, not yet recorded as sent. Once they are posted, press r, "
            "open that list and go on from g (make letters) to y (record as sent)."
        )
