"""The import (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from recall.tui.screens.base import RecallScreen


class ImportScreen(RecallScreen):
    TITLE = "Import a file"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Coming soon.")
        yield Footer(compact=True)
