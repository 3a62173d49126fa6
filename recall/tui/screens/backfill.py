"""The backfill (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from recall.tui.screens.base import RecallScreen


class BackfillScreen(RecallScreen):
    TITLE = "Tidy up earlier coding"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Coming soon.")
        yield Footer(compact=True)
