"""Why a file was not written: one line that names the path (never patient data)."""

from __future__ import annotations

from pathlib import Path


class OutputError(Exception):
    """A file could not be written; the previous file at `path` (if any) is unchanged."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


class OutputRefused(OutputError):
    """Writing there could destroy something (a database, a link's target, someone's file)."""
