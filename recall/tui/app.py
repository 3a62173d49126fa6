"""App factory and entry point (the screens arrive with the terminal UI work)."""

from __future__ import annotations


def run_app(db_url: str | None = None) -> None:
    print("The terminal UI is not built yet: use the recall commands (recall --help).")
