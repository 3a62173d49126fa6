"""The PCA dashboard: per condition, how many register patients are in each status.

Every patient on a register at the as-of date (alive and registered then) is counted in
exactly one status; "need a 2nd invite" counts patients invited once (or twice too close
together) whose 2nd invitation can still fall by 31 March and make them eligible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from recall.domain.catalogue import Catalogue
from recall.domain.pca import STATUS_ORDER, PcaResult, PcaStatus, can_still_become_eligible
from recall.domain.qof_year import qof_year_of
from recall.services.catalogue import load_catalogue
from recall.services.history import Key, pca_for_practices, pca_for_session
from recall.services.practice_scope import resolve_practice_id
from recall.store.db import Database


@dataclass
class ConditionCounts:
    key: str
    name: str
    ready: bool
    readiness: str  # ready | provisional | needs_code_list | ...
    readiness_reason: str
    can_be_achieved: bool  # a review code list is configured
    register: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in STATUS_ORDER})
    # one more invitation by 31 March can except them: only where this year excepts the
    # condition by invitation and the tool can code it (a 2nd letter without its code
    # excepts nobody); `need_second_when_codeable` counts the rest of a not-yet-codeable one
    need_second_by_year_end: int = 0
    need_second_when_codeable: int = 0
    out_of_target: int = 0  # latest reading out of target: earlier invitations do not count
    pca_applies: bool = True  # this QOF year excepts the condition's indicators by invitation
    qof_note: str = ""  # why not, in plain words (e.g. depression from 2025/26)

    @property
    def can_be_excepted(self) -> int:
        """Patients this year's PCA can except: invited twice 7+ days apart, and only where
        the year excepts the condition by invitation and the tool can code it (otherwise
        `pca_eligible` is the invitation rule's status, not an exception anyone can claim)."""
        return self.counts[PcaStatus.PCA_ELIGIBLE.value] if self.second_letter_counts else 0

    @property
    def second_letter_counts(self) -> bool:
        """Whether a 2nd letter can except anyone this year: PCA applies to the condition this
        QOF year and the tool can code it. Otherwise "can be excepted" and "need a 2nd" count
        nobody, and the screens and `recall pca` show n/a (or "-") rather than a count."""
        return self.pca_applies and self.ready

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "register": self.register,
            **self.counts,
            "can_be_excepted": self.can_be_excepted,
            "need_second_by_year_end": self.need_second_by_year_end,
            "need_second_applies": self.second_letter_counts,
            "need_second_when_codeable": self.need_second_when_codeable,
            "ready": self.ready,
            "readiness": self.readiness,
            "readiness_reason": self.readiness_reason,
            "can_be_achieved": self.can_be_achieved,
            "out_of_target": self.out_of_target,
            "pca_applies": self.pca_applies,
            "qof_note": self.qof_note,
        }


@dataclass
class PcaReport:
    as_of: dt.date
    qof_year: str  # "2026/27"
    year_start: dt.date
    year_end: dt.date
    days_left: int
    conditions: dict[str, ConditionCounts]

    @property
    def need_second_by_year_end(self) -> int:
        return sum(c.need_second_by_year_end for c in self.conditions.values())

    @property
    def need_second_when_codeable(self) -> int:
        return sum(c.need_second_when_codeable for c in self.conditions.values())

    def as_json(self) -> dict[str, Any]:
        """The `recall pca --json` document (formats.md), with extra keys."""
        return {
            "as_of": self.as_of.isoformat(),
            "qof_year": self.qof_year,
            "year_start": self.year_start.isoformat(),
            "year_end": self.year_end.isoformat(),
            "days_left": self.days_left,
            "need_second_by_year_end": self.need_second_by_year_end,
            "need_second_when_codeable": self.need_second_when_codeable,
            "conditions": {k: c.as_json() for k, c in self.conditions.items()},
        }


def pca_report(
    db: Database,
    as_of: dt.date | None = None,
    *,
    today: dt.date | None = None,
    practice_id: int | None = None,
) -> PcaReport:
    """PCA status counts per condition for the QOF year containing `as_of` (default today).

    Lists every condition that has register patients or is ready to invite, in catalogue
    order; conditions without a review code list can never be `achieved` (can_be_achieved).
    """
    as_of = as_of or today or dt.date.today()
    with db.read() as session:
        pid = resolve_practice_id(session, practice_id)
        assert pid is not None
        catalogue = load_catalogue(session, pid)
        results = pca_for_session(session, practice_id=pid, catalogue=catalogue, as_of=as_of)
    return _report(catalogue, results, as_of)


def pca_reports(db: Database, as_of: dt.date, practice_ids: Iterable[int]) -> dict[int, PcaReport]:
    """`pca_report` for several practices (practice id -> report), the registers and the
    journal read once for all of them rather than once per practice."""
    with db.read() as session:
        catalogues = {pid: load_catalogue(session, pid) for pid in practice_ids}
        results = pca_for_practices(session, catalogues=catalogues, as_of=as_of)
    return {pid: _report(cat, results[pid], as_of) for pid, cat in catalogues.items()}


def _report(catalogue: Catalogue, results: dict[Key, PcaResult], as_of: dt.date) -> PcaReport:
    """Count each condition's register by status (one practice)."""
    year = qof_year_of(as_of)
    out: dict[str, ConditionCounts] = {}
    profile = catalogue.year_profile(year)
    for cond in catalogue:
        r = cond.readiness(catalogue.profile)
        qof_status, qof_words = profile.qof_status(cond.key)
        out[cond.key] = ConditionCounts(
            key=cond.key,
            name=cond.name,
            ready=r.ready,
            readiness=r.status,
            readiness_reason=r.reason,
            can_be_achieved=bool(cond.review_codes),
            pca_applies=qof_status != "no_qof",
            qof_note=qof_words if qof_status == "no_qof" else "",
        )
    for (_pid, key), result in results.items():
        c = out[key]
        c.register += 1
        c.counts[result.status.value] += 1
        if result.out_of_target_on is not None:
            c.out_of_target += 1
        if (
            c.pca_applies
            and result.status in (PcaStatus.INVITED_ONCE, PcaStatus.INVALID_INTERVAL)
            and can_still_become_eligible(result, year)
        ):  # no 2nd letter can except a patient where the year has no such exception
            if c.ready:
                c.need_second_by_year_end += 1
            else:  # nor where it cannot be coded: the backlog once it can be
                c.need_second_when_codeable += 1
    shown = {k: c for k, c in out.items() if c.register or c.ready}
    return PcaReport(
        as_of=as_of,
        qof_year=year.label,
        year_start=year.start,
        year_end=year.end,
        days_left=year.days_left(as_of),
        conditions=shown,
    )
