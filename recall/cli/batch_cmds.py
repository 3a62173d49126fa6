"""CLI commands: `recall batch ...` (plan, confirm, void, list) and `recall invite`."""

from __future__ import annotations

import typer

batch_app = typer.Typer(help="Monthly invitation batches: plan, letters, confirm, void, list.")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(batch_app, name="batch")
