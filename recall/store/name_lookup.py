"""Is a word in a piece of free text the name of a patient in the database?"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from recall.store.models import patient_t


def mentions_patient(session: Session, words: Collection[str], titled: Collection[str]) -> bool:
    """True when some patient's given and family names are both in `words` (lower-cased), or
    their family name is in `titled` (the words after Mr/Mrs/Dr...)."""
    if not words:
        return False
    p = patient_t
    family, given = func.lower(p.c.family_name), func.lower(p.c.given_name)
    conditions = [and_(family.in_(list(words)), given.in_(list(words)))]
    if titled:
        conditions.append(family.in_(list(titled)))
    found = session.execute(select(p.c.id).where(or_(*conditions)).limit(1)).first()
    return found is not None
