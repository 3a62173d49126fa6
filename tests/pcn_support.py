"""A two-practice database (one SystmOne, one EMIS) built through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stress_support import TODAY, Practice, write_practice

from recall.services.imports import import_file
from recall.services.practices import PracticeSummary, add_practice
from recall.store.db import Database

ODS_A, ODS_B = "B86001", "A81002"


@dataclass(frozen=True)
class Pcn:
    a: PracticeSummary
    b: PracticeSummary
    files_a: Practice
    files_b: Practice


def build_pcn(
    db: Database, folder: Path, *, size: int = 4, system_b: str = "emis", events: bool = False
) -> Pcn:
    """Practice A (SystmOne) and B (`system_b`), each with `size` November-born patients on
    the HYP register (half also DM), imported per practice."""
    a = add_practice(db, ODS_A, name="Riverside Surgery", clinical_system="systmone")
    b = add_practice(db, ODS_B, name="Hillview Practice", clinical_system=system_b)
    files_a = write_practice(folder / "a", size, start=999_100_000)
    files_b = write_practice(folder / "b", size, start=999_200_000)
    for practice, files in ((a, files_a), (b, files_b)):
        kinds = ("patients", "registers", "events") if events else ("patients", "registers")
        for kind in kinds:
            path = getattr(files, kind)
            import_file(db, kind, path, operator="seed", today=TODAY, practice_id=practice.id)
    return Pcn(a, b, files_a, files_b)
