"""What every screen shares: Esc goes back (asking first if work would be lost), errors are
shown as plain messages, never tracebacks."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from recall.services.errors import RecallError, Refused
from recall.tui.context import AppContext
from recall.tui.widgets import ConfirmModal, MessageModal

if TYPE_CHECKING:
    from recall.tui.app import RecallApp


def problem_lines(problems: list[dict[str, str]]) -> list[str]:
    """A refusal's problems as one plain line each."""
    lines = []
    for p in problems:
        who = p.get("name") or p.get("patient") or p.get("nhs_number") or ""
        why = p.get("reason") or p.get("problem") or ", ".join(f"{k}: {v}" for k, v in p.items())
        lines.append(f"• {who}: {why}" if who else f"• {why}")
    return lines


class RecallScreen(Screen[None]):
    """Base screen: Esc = back, `?` = help for this screen, worker errors shown plainly."""

    HELP: ClassVar[str] = ""
    # ids of bindings kept out of the footer (no room at 80 columns) that Help still lists
    HELP_KEYS: ClassVar[frozenset[str]] = frozenset()
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
    ]

    @property
    def ctx(self) -> AppContext:
        return cast(AppContext, self.app.ctx)  # type: ignore[attr-defined]

    @property
    def recall_app(self) -> RecallApp:
        """The app with its practice switching (screens run inside no other app)."""
        return cast("RecallApp", self.app)

    def unsaved_work(self) -> str:
        """A sentence describing work that leaving would lose, or "" when there is none."""
        return ""

    def action_back(self) -> None:
        if len(self.app.screen_stack) <= 1:
            return
        if self.unsaved_work():
            self._confirm_leave()
        else:
            self.dismiss()

    def _confirm_leave(self) -> None:
        def answered(leave: bool | None) -> None:
            if leave:
                self.dismiss()

        self.app.push_screen(
            ConfirmModal("Leave this screen?", self.unsaved_work(), yes="Leave", no="Stay"),
            answered,
        )

    def show_error(self, error: BaseException, title: str = "That did not work") -> None:
        """A refusal or expected failure as a readable message; anything else without a trace."""
        if isinstance(error, Refused):
            self.app.push_screen(MessageModal(title, str(error), problem_lines(error.problems)))
        elif isinstance(error, RecallError):
            self.app.push_screen(MessageModal(title, str(error)))
        else:
            self.log.error(repr(error))
            self.app.push_screen(
                MessageModal(
                    "Something went wrong",
                    f"The tool hit an unexpected problem ({type(error).__name__}). Nothing was "
                    "half-saved. Please try again, and tell your practice manager if it repeats.",
                )
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[object]) -> None:
        """Hook: a screen can reset its progress display when its worker fails."""
