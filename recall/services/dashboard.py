"""What the home screen shows, gathered read-only from the other services in one call.

The terminal UI never queries the database itself; it asks for one `Dashboard` and draws it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from recall.domain.qof_year import qof_year_of
from recall.services.settings import get_settings
from recall.services.settings_view import ConditionReadiness, readiness_rows
from recall.store.db import Database
from recall.store.models import patient_t, recorded_code_t
from recall.store.practice_repo import get_or_create_practice


@dataclass(frozen=True)
class StageDue:
    """How many patients are due a letter at one stage this month."""

    stage: int
    due: int
    waiting: int  # not yet due: their previous letter went out less than the interval ago
    next_due: dt.date | None = None


@dataclass(frozen=True)
class PcaBar:
    """One condition's position in the QOF year, for a stacked progress bar."""

    key: str
    name: str
    register: int
    achieved: int
    eligible: int
    invited_once: int
    not_invited: int
    other: int = 0  # generic-only or too-close invitations (fixable)


@dataclass(frozen=True)
class Dashboard:
    practice_name: str
    today: dt.date
    qof_year: str
    days_left: int
    patients: int
    stages: tuple[StageDue, ...] = ()
    pca: tuple[PcaBar, ...] = ()
    blocked: tuple[ConditionReadiness, ...] = ()
    unreconciled: int = 0
    backfill_items: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def month_name(self) -> str:
        return self.today.strftime("%B")


def _counts(db: Database) -> tuple[str, int, int]:
    with db.read() as session:
        practice = get_or_create_practice(session)
        settings = get_settings(session, practice.id)
        patients = session.scalar(
            select(func.count())
            .select_from(patient_t)
            .where(patient_t.c.practice_id == practice.id)
        )
        unreconciled = session.scalar(
            select(func.count())
            .select_from(recorded_code_t)
            .join(patient_t, patient_t.c.id == recorded_code_t.c.patient_id)
            .where(
                patient_t.c.practice_id == practice.id,
                recorded_code_t.c.voided.is_(False),
                recorded_code_t.c.reconciled.is_(False),
            )
        )
    return settings.practice_name, int(patients or 0), int(unreconciled or 0)


def load_dashboard(db: Database, today: dt.date | None = None) -> Dashboard:
    """Everything the home screen needs for `today`."""
    today = today or dt.date.today()
    year = qof_year_of(today)
    name, patients, unreconciled = _counts(db)
    blocked = tuple(r for r in readiness_rows(db) if not r.ready)
    return Dashboard(
        practice_name=name,
        today=today,
        qof_year=year.label,
        days_left=year.days_left(today),
        patients=patients,
        blocked=blocked,
        unreconciled=unreconciled,
    )
