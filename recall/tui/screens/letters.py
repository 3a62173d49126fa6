"""The monthly run, steps 3 and 4: make the letters (with a progress bar), then read one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, ProgressBar, Static

from recall.services.errors import NotFound
from recall.services.letters import LetterPreview, LettersResult, preview_letter
from recall.services.letters import render_batch_letters as render
from recall.tui.paths import PathText
from recall.tui.safe import plain
from recall.tui.screens.base import RecallScreen
from recall.tui.words import plural


@dataclass
class LettersMade(Message):
    result: LettersResult


class LettersScreen(RecallScreen):
    """Writes the print file, single letters and text-message lists in a worker."""

    HELP = """\
The tool is writing the letters: one print file with every letter (in postcode order for
franking), a copy of each letter, and a list for the text-message service if the practice
sends texts. Nothing is recorded yet.

When it is done, press **Enter** to read one of the letters before you print.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next", "Next: check a letter", id="next"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, batch_id: int, title: str, count: int, *, again: bool = False) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.again = again  # staff chose to make again letters made on an earlier day
        self.title = title
        self.count = count
        self.result: LettersResult | None = None
        self.making = True

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="form"):
            yield Static(
                f"Making letters for {plural(self.count, 'patient')}…", id="letters-status"
            )
            yield ProgressBar(total=None, show_eta=False, id="letters-progress")
            yield Static("", id="letters-result")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.make()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def make(self) -> None:
        out = self.ctx.out_dir / f"batch-{self.batch_id}" if self.ctx.out_dir else None
        result = render(
            self.ctx.db,
            self.batch_id,
            out,
            self.ctx.today,
            pdf=self.ctx.make_pdf,
            again=self.again,
        )
        self.post_message(LettersMade(result))

    def unsaved_work(self) -> str:
        if self.making:
            return (
                "The letters are still being made. You can leave: nothing is recorded until "
                "you confirm they were sent, and making them again later is safe."
            )
        return ""

    def worker_failed(self, worker: object) -> None:
        self.making = False
        self.query_one("#letters-status", Static).update(
            "The letters were not made. Press Esc to go back to the list."
        )
        bar = self.query_one(ProgressBar)
        bar.update(total=1, progress=0)

    @on(LettersMade)
    def _made(self, message: LettersMade) -> None:
        r = self.result = message.result
        self.making = False
        self.query_one(ProgressBar).update(total=1, progress=1)
        n_letters = len(r.letters)
        sms = r.counts.get("sms", 0)
        parts = [f"{plural(n_letters, 'letter')} to print"]
        if sms:
            parts.append(f"{plural(sms, 'text message')}")
        self.query_one("#letters-status", Static).update("Done: " + ", ".join(parts) + ".")
        lines = [f"Folder: {r.folder}"]
        if r.print_file:
            lines.append(f"Print file: {r.print_file}")
        if r.pdf:
            lines.append(f"PDF: {r.pdf}")
        elif r.print_file and self.ctx.make_pdf:
            lines.append(r.pdf_message)  # why there is no PDF (LibreOffice not installed)
        if r.sms_csv:
            lines.append(f"Text message list (Accurx): {r.sms_csv}")
        if r.notify_csv:
            lines.append(f"Text message list (GOV.UK Notify): {r.notify_csv}")
        lines.extend(f"Note: {n}" for n in r.notes)
        lines.append("")
        lines.append("Nothing is recorded yet. Press Enter to check a letter.")
        self.query_one("#letters-result", Static).update(PathText("\n".join(lines)))

    def action_next(self) -> None:
        if self.result is not None:
            self.app.push_screen(PreviewScreen(self.batch_id, str(self.title), self.result))


@dataclass
class PreviewLoaded(Message):
    preview: LetterPreview | None


class PreviewScreen(RecallScreen):
    """One letter as plain text; n/p move through the letters in print-file order."""

    HELP = """\
This is one letter as it will print (as plain text, without the layout). Check the practice
details, the patient's name and address, and the conditions listed.

**n** and **p** show the next and previous letter, in the order of the print file (postcode
order, for franking): letter 3 is the third letter in the print file and the file
letter-0003-….docx. When you are happy, print the print file and send the letters, then
press **Enter** to record that they were sent.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next", "Next: record as sent", id="next"),
        Binding("n", "move(1)", "Next letter", id="next_letter"),
        Binding("p", "move(-1)", "Previous", id="prev_letter"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, batch_id: int, title: str, letters: LettersResult | None = None) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.title = title
        self.letters = letters
        self.ids: list[int] = []
        self.index = 0
        self.showing: int | None = None  # the invitation whose letter is on screen

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading the first letter…", id="preview-where", classes="status-line")
        with VerticalScroll(id="preview-scroll"):
            yield Static("", id="preview-text", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load(None)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self, invitation_id: int | None) -> None:
        try:
            preview = preview_letter(
                self.ctx.db, self.batch_id, invitation_id, today=self.ctx.today
            )
        except NotFound:  # that patient gets a text instead: show the first letter
            preview = preview_letter(self.ctx.db, self.batch_id, None, today=self.ctx.today)
        self.post_message(PreviewLoaded(preview))

    @on(PreviewLoaded)
    def _loaded(self, message: PreviewLoaded) -> None:
        p = message.preview
        where = self.query_one("#preview-where", Static)
        text = self.query_one("#preview-text", Static)
        if p is None:
            self.ids = []
            where.update("No letters to print: everyone gets a text message or another contact.")
            text.update("")
            return
        self.ids = list(p.order)  # the print file's order: n/p walk it, the label counts it
        self.index = p.position - 1
        self.showing = p.invitation_id
        style = "" if p.variant == "standard" else f" ({p.variant.replace('_', ' ')})"
        where.update(f"Letter {p.position} of {p.total} in the print file (postcode order){style}")
        text.update(plain("\n".join(p.lines)))
        self.query_one("#preview-scroll", VerticalScroll).scroll_home(animate=False)

    def action_move(self, step: int) -> None:
        if not self.ids:
            return
        self.index = (self.index + step) % len(self.ids)
        self.load(self.ids[self.index])

    def action_next(self) -> None:
        from recall.tui.screens.confirm import ConfirmSentScreen

        folder = self.letters.folder if self.letters else None
        self.app.push_screen(ConfirmSentScreen(self.batch_id, str(self.title), folder))
