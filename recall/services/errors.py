"""Errors the CLI and the UI show to staff as one plain line (never a traceback)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class RecallError(Exception):
    """Base for expected, user-facing failures."""


class NotFound(RecallError):
    pass


@dataclass(frozen=True)
class Problem:
    """One patient or item a rule refused, and why (typed; `as_dict` is the JSON form)."""

    reason: str
    nhs_number: str = ""
    patient_id: int | None = None
    condition: str = ""
    fix: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. file, line, column, value

    def as_dict(self) -> dict[str, str]:
        out = dict(self.extra)
        if self.reason or not out:
            out["reason"] = self.reason
        if self.nhs_number:
            out["nhs_number"] = self.nhs_number
        if self.patient_id is not None:
            out["patient_id"] = str(self.patient_id)
        if self.condition:
            out["condition"] = self.condition
        if self.fix:
            out["fix"] = self.fix
        return out


class Refused(RecallError):
    """A rule refused the action; `items` lists each patient/item and why."""

    def __init__(
        self, message: str, problems: Iterable[Problem | Mapping[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.items: list[Problem] = [
            p if isinstance(p, Problem) else _problem(p) for p in problems or ()
        ]

    @property
    def problems(self) -> list[dict[str, str]]:
        """The problems as plain dicts (the CLI's JSON contract)."""
        return [p.as_dict() for p in self.items]


def _problem(p: Mapping[str, str]) -> Problem:
    """A typed Problem from the plain dict form (other keys kept in `extra`)."""
    known = ("reason", "nhs_number", "condition", "fix", "patient_id")
    pid = p.get("patient_id")
    return Problem(
        reason=p.get("reason", ""),
        nhs_number=p.get("nhs_number", ""),
        patient_id=int(pid) if pid else None,
        condition=p.get("condition", ""),
        fix=p.get("fix", ""),
        extra={k: v for k, v in p.items() if k not in known},
    )


class ConfigurationError(RecallError):
    pass
