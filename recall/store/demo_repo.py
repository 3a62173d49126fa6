"""Which patients the demo generator made: it only ever uses the NHS test range (999…).

Real NHS numbers are never issued from 999, so a patient outside it was imported or added by
hand, whatever any setting says: such a database is never rebuilt as a demo.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recall.store.models import patient_t

DEMO_NHS_PREFIX = "999"


def patients_held(session: Session) -> tuple[int, int]:
    """(all patients, patients the demo generator cannot have made)."""
    total = session.scalar(select(func.count()).select_from(patient_t)) or 0
    foreign = (
        session.scalar(
            select(func.count())
            .select_from(patient_t)
            .where(~patient_t.c.nhs_number.startswith(DEMO_NHS_PREFIX, autoescape=True))
        )
        or 0
    )
    return total, foreign
