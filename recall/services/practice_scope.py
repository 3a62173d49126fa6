"""Which practice a use-case works on, resolved inside its own transaction.

Every service that takes `practice_id: int | None` asks here: an id is checked to exist;
None means "the only practice" and is refused with the list of practices when the database
holds several, so nothing ever acts on "the first practice" of a PCN database by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from recall.services.errors import NotFound, RecallError
from recall.store.practice_repo import all_practices, get_or_create_practice, practice_by_id
from recall.store.settings_repo import load_settings

SYSTEM_NAMES = {"systmone": "SystmOne", "emis": "EMIS Web"}
UNNAMED = "Your GP Practice"  # the letterhead name before a practice is given one


@dataclass(frozen=True)
class PracticeSummary:
    id: int
    ods_code: str  # upper case, e.g. "B86001"
    name: str
    clinical_system: str  # "systmone" | "emis"

    def line(self) -> str:
        """`B86001 - Riverside Surgery - SystmOne`: how lists and errors show a practice."""
        system = SYSTEM_NAMES.get(self.clinical_system, self.clinical_system)
        return f"{self.ods_code} - {self.name or '(no name)'} - {system}"


class PracticeChoiceError(RecallError):
    """Several practices and none chosen: the message lists them (ODS - name - system)."""

    def __init__(self, practices: list[PracticeSummary]) -> None:
        self.practices = practices
        lines = "".join(f"\n  {p.line()}" for p in practices)
        super().__init__(
            f"this database holds {len(practices)} practices: choose one with --practice ODS "
            f"(or RECALL_PRACTICE){lines}"
        )


def summary_of(session: Session, pid: int, ods: str, name: str) -> PracticeSummary:
    """A practice with its name (its letterhead name when the row has none) and system."""
    raw = load_settings(session, pid)
    letterhead = str(raw.get("practice_name") or "")
    shown = name or (letterhead if letterhead != UNNAMED else "")
    return PracticeSummary(pid, ods, shown, str(raw.get("clinical_system") or "systmone"))


def practice_summaries(session: Session) -> list[PracticeSummary]:
    """Every practice of the database, ordered by ODS code."""
    return [summary_of(session, *row) for row in all_practices(session)]


def resolve_practice_id(session: Session, practice_id: int | None) -> int:
    """The practice a use-case works on: the one given, else the only one (made when there
    is none yet, as for a new single-practice database); several and none given: refused."""
    if practice_id is not None:
        if practice_by_id(session, practice_id) is None:
            raise NotFound(f"no practice with id {practice_id}")
        return practice_id
    rows = all_practices(session)
    if len(rows) > 1:
        raise PracticeChoiceError([summary_of(session, *row) for row in rows])
    if rows:
        return rows[0][0]
    practice = get_or_create_practice(session)
    assert practice.id is not None
    return practice.id
