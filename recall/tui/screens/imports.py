"""Import a file exported from the clinical system (or a code list), with a progress bar and,
when the file has problems, a list of them with line numbers. Nothing is half-imported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import (
    DataTable,
    DirectoryTree,
    Footer,
    Header,
    Label,
    ProgressBar,
    Select,
    Static,
)

from recall.services.codes import import_cluster
from recall.services.errors import Refused
from recall.services.imports import ImportRefused, import_file
from recall.tui.safe import cells, plain
from recall.tui.screens.base import RecallScreen
from recall.tui.widgets import TextBox, add_columns
from recall.tui.words import plural

KINDS = [
    ("Patients (the practice list)", "patients"),
    ("Condition registers", "registers"),
    ("Coded events (journal)", "events"),
    ("Code list (cluster file)", "codelist"),
]
LAYOUTS = [
    ("Work it out from the file", "auto"),
    ("SystmOne export", "systmone"),
    ("EMIS Web export", "emis"),
    ("Standard (recall's own columns)", "canonical"),
]


def importable(path: Path) -> bool:
    """What the browser shows: folders and CSV/TXT/TSV files, nothing hidden."""
    if path.name.startswith("."):
        return False
    try:
        return path.is_dir() or path.suffix.lower() in (".csv", ".txt", ".tsv")
    except OSError:
        return False


def shows_something(folder: Path) -> bool:
    """Whether the browser would show anything in `folder` (a home folder holding only
    hidden files would look empty)."""
    try:
        return any(importable(p) for p in folder.iterdir())
    except OSError:
        return False


def start_folder(typed: str, last: Path | None) -> Path:
    """Where the browser opens: the typed path's folder, else the folder of the last import,
    else the folder recall was started in or the home folder, whichever shows something."""
    candidates = [Path(typed).expanduser()] if typed else []
    candidates += [last] if last is not None else []
    for start in candidates:
        while not start.is_dir() and start != start.parent:
            start = start.parent
        if start.is_dir() and start != start.parent:
            return start
    here, home = Path.cwd(), Path.home()
    return next((p for p in (here, home) if shows_something(p)), home)


class CsvTree(DirectoryTree):
    """Folders and CSV/TXT files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if importable(p)]


class BrowseModal(ModalScreen[Path | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("backspace", "up", "Up a folder", id="up"),
        Binding("escape", "cancel", "Cancel", id="cancel"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -help"):
            yield Label("Choose the file (Enter opens a folder or picks a file)", classes="title")
            yield Static("", id="browse-folder", classes="hint")
            yield CsvTree(self.start, id="tree")
            yield Static("Backspace goes up a folder · Esc to cancel", classes="hint")

    def on_mount(self) -> None:
        self._say_folder(self.start)

    def _say_folder(self, folder: Path) -> None:
        """The whole path of the folder shown, and a word when it has nothing to import."""
        empty = "" if shows_something(folder) else " (no folders or CSV files here)"
        self.query_one("#browse-folder", Static).update(plain(f"In {folder}{empty}"))

    def action_up(self) -> None:
        tree = self.query_one(CsvTree)
        folder = Path(tree.path)
        if folder.parent != folder:
            tree.path = folder.parent
            self._say_folder(folder.parent)

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass
class ImportProgressed(Message):
    done: int
    total: int


@dataclass
class ImportFinished(Message):
    summary: str
    warnings: list[str]


@dataclass
class ImportFailed(Message):
    message: str
    problems: list[dict[str, str]]


class ImportScreen(RecallScreen):
    TITLE = "Import a file"
    HELP = """\
Import the files exported from the clinical system: the patient list, the condition
registers, and the coded events (journal). Choose what kind of file it is, then type its
full path or press **Ctrl+O** to browse, then press **Ctrl+S** (or Enter in the path box).

If any line of the file has a problem, **nothing** is imported and every problem is listed
with its line number, so you can fix the file and try again. Importing the same file twice
adds nothing the second time.

A **code list** is a cluster file downloaded from OpenCodelists or the reference set portal:
give the cluster's name (e.g. AFIBINVITE_COD) so the tool knows which condition it is for.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Import", id="start"),
        Binding("ctrl+o", "browse", "Browse", id="browse"),
        Binding("f1", "app.help", "Help", id="help"),
        # "?" is typed into the path box here, so the footer offers F1 only (not both)
        Binding("question_mark", "app.help", "Help", show=False, id="help_key"),
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.busy = False
        self.problems: list[dict[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="form"):
            with Horizontal(classes="field"):
                yield Label("What is it?")
                yield Select(KINDS, value="patients", allow_blank=False, id="kind", compact=True)
            with Horizontal(classes="field"):
                yield Label("File")
                yield TextBox(placeholder="full path, or Ctrl+O to browse", id="path", compact=True)
            with Horizontal(classes="field", id="layout-field"):
                yield Label("Layout")
                yield Select(LAYOUTS, value="auto", allow_blank=False, id="layout", compact=True)
            with Horizontal(classes="field", id="cluster-field"):
                yield Label("Cluster name")
                yield TextBox(placeholder="e.g. AFIBINVITE_COD", id="cluster", compact=True)
            yield ProgressBar(total=100, show_eta=False, id="import-progress")
            yield Static("", id="import-status")
        yield DataTable(id="import-problems", cursor_type="row", zebra_stripes=True)
        yield Static("", id="import-detail", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#cluster-field").display = False
        self.query_one("#import-progress").display = False
        table = self.query_one(DataTable)
        add_columns(table, ("Line", 5), ("Column", 14), ("Value", 16), ("Problem", 33))
        table.display = False
        self.query_one("#kind", Select).focus()

    @on(Select.Changed, "#kind")
    def _kind(self, event: Select.Changed) -> None:
        codelist = event.value == "codelist"
        self.query_one("#cluster-field").display = codelist
        self.query_one("#layout-field").display = not codelist

    @on(TextBox.Submitted, "#path")
    def _submitted(self) -> None:
        self.action_start()

    def action_browse(self) -> None:
        typed = self.query_one("#path", TextBox).value.strip()
        start = start_folder(typed, self.ctx.last_import_folder)

        def picked(path: Path | None) -> None:
            if path is not None:
                self.query_one("#path", TextBox).value = str(path)

        self.app.push_screen(BrowseModal(start), picked)

    def action_start(self) -> None:
        if self.busy:
            return
        path = self.query_one("#path", TextBox).value.strip()
        status = self.query_one("#import-status", Static)
        if not path:
            status.update("Type the file's path first (or press Ctrl+O to browse).")
            return
        kind = str(self.query_one("#kind", Select).value)
        layout = str(self.query_one("#layout", Select).value)
        cluster = self.query_one("#cluster", TextBox).value.strip()
        if kind == "codelist" and not cluster:
            status.update("Type the cluster's name, e.g. AFIBINVITE_COD.")
            return
        folder = Path(path).expanduser().parent
        if folder.is_dir():  # the browser opens here next time
            self.ctx.last_import_folder = folder
        self.busy = True
        table = self.query_one(DataTable)
        table.clear()
        table.display = False
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        status.update(f"Importing {Path(path).name}…")
        self.run_import(kind, Path(path).expanduser(), layout, cluster)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_import(self, kind: str, path: Path, layout: str, cluster: str) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(ImportProgressed(done, total))

        try:
            if kind == "codelist":
                r = import_cluster(self.ctx.db, cluster, path, practice_id=self.ctx.practice_id)
                self.post_message(
                    ImportFinished(f"Imported the {r.cluster} code list ({r.codes} codes).", [])
                )
                return
            result = import_file(
                self.ctx.db,
                kind,
                path,
                mapping=None if layout == "auto" else layout,
                progress=progress,
                today=self.ctx.today,
                practice_id=self.ctx.practice_id,
            )
        except ImportRefused as exc:
            self.post_message(ImportFailed(str(exc), exc.problems))
            return
        except Refused as exc:
            self.post_message(ImportFailed(str(exc), exc.problems))
            return
        summary = (
            f"Imported {result.file}: {plural(result.rows_read, 'line')} read, "
            f"{result.added:,} added, {result.updated:,} updated, "
            f"{result.skipped:,} already there."
        )
        self.post_message(ImportFinished(summary, result.warnings))

    @on(ImportProgressed)
    def _progress(self, message: ImportProgressed) -> None:
        self.query_one(ProgressBar).update(total=max(message.total, 1), progress=message.done)

    @on(ImportFinished)
    def _finished(self, message: ImportFinished) -> None:
        self.busy = False
        bar = self.query_one(ProgressBar)
        bar.update(total=1, progress=1)
        text = "✓ " + message.summary
        if message.warnings:
            text += "\nWarnings:\n" + "\n".join(f"• {w}" for w in message.warnings[:8])
        self.query_one("#import-status", Static).update(plain(text))

    @on(ImportFailed)
    def _failed(self, message: ImportFailed) -> None:
        self.busy = False
        self.query_one(ProgressBar).display = False
        n = len(message.problems)
        status = self.query_one("#import-status", Static)
        table = self.query_one(DataTable)
        table.clear()
        self.problems = message.problems
        whole = n == 1 and _line(message.problems[0]) == ""
        if not n or whole:  # the file as a whole: one sentence, shown whole
            first = message.problems[0] if whole else {}
            why = f"{first.get('file', '')} {_problem(first)}".strip() if whole else message.message
            status.update(plain(f"✗ Nothing was imported. {why}"))
            table.display = False
            self._detail("")
            return
        status.update(
            plain(
                f"✗ Nothing was imported. {plural(n, 'problem')} to fix in the file"
                + (" (first ones shown):" if n >= 50 else ":")
            )
        )
        for i, p in enumerate(message.problems):
            table.add_row(
                *cells(
                    _line(p),
                    p.get("column", ""),
                    p.get("value", "")[:16],
                    p.get("message") or p.get("reason", ""),
                ),
                key=str(i),
            )
        table.display = True
        table.focus()
        self._show_problem(0)

    @on(DataTable.RowHighlighted, "#import-problems")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_problem(event.cursor_row)

    def _show_problem(self, row: int) -> None:
        """The highlighted problem in full under the table: the table cuts long ones."""
        if 0 <= row < len(self.problems):
            p = self.problems[row]
            where = ", ".join(
                x
                for x in (
                    f"line {_line(p)}" if _line(p) else "",
                    f"column {p.get('column')}" if p.get("column") else "",
                    f"value {p.get('value')!r}" if p.get("value") else "",
                )
                if x
            )
            self._detail(f"{where}: {_problem(p)}" if where else _problem(p))

    def _detail(self, text: str) -> None:
        detail = self.query_one("#import-detail", Static)
        detail.update(plain(text))
        detail.display = bool(text)

    def unsaved_work(self) -> str:
        if self.busy:
            return (
                "The import is still running. If you leave, it carries on and either "
                "finishes or is refused as a whole; the file is never half-imported."
            )
        return ""

    def worker_failed(self, worker: object) -> None:
        self.busy = False
        self.query_one(ProgressBar).display = False
        self.query_one("#import-status", Static).update("✗ Nothing was imported.")


def _line(problem: dict[str, str]) -> str:
    """A problem's line number, or "" for one about the whole file (stored as 0)."""
    line = str(problem.get("line", "") or "")
    return "" if line in ("", "0") else line


def _problem(problem: dict[str, str]) -> str:
    return problem.get("message") or problem.get("reason", "")
