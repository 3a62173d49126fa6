"""Errors the CLI and the UI show to staff as one plain line (never a traceback)."""

from __future__ import annotations


class RecallError(Exception):
    """Base for expected, user-facing failures."""


class NotFound(RecallError):
    pass


class Refused(RecallError):
    """A rule refused the action; `problems` lists each patient/item and why."""

    def __init__(self, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ConfigurationError(RecallError):
    pass
