"""A synthetic PCN-sized practice for the recall-engine benchmarks (bulk Core inserts).

Codes come from the shipped catalogue and SystmOne profile; filler events use made-up local
codes (never a real clinical code). Patients recalled April-October already have this QOF
year's invitations in every coding style (condition codes, stage code only, generic only,
reviews); November onwards have none yet, so a November stage-1 run has a real cohort.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, insert, select

from recall.services.catalogue import build_catalogue
from recall.services.settings import PracticeSettings
from recall.store.db import Database
from recall.store.models import event_t, patient_t, register_t
from recall.store.practice_repo import get_or_create_practice

TODAY = dt.date(2026, 11, 27)
YEAR_START = dt.date(2026, 4, 1)
HISTORY_START = dt.date(2024, 4, 1)
CHUNK = 50_000
PREVALENCE = {
    "HYP": 0.14,
    "DM": 0.07,
    "AST": 0.065,
    "DEPR": 0.10,
    "CKD": 0.04,
    "CHD": 0.03,
    "AF": 0.02,
    "COPD": 0.02,
    "STIA": 0.02,
    "HF": 0.01,
    "MH": 0.01,
    "DEM": 0.008,
}


def nhs_numbers(count: int, start: int = 999_000_000) -> list[str]:
    """`count` valid NHS numbers from the 999 test range (never a real patient)."""
    out: list[str] = []
    body = start
    while len(out) < count:
        digits = f"{body:09d}"
        total = sum(int(d) * (10 - i) for i, d in enumerate(digits))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10:
            out.append(digits + str(check))
        body += 1
    return out


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def build(
    db: Database,
    patients: int = 60_000,
    events: int = 1_000_000,
    seed: int = 7,
    *,
    practice_id: int | None = None,
    settings: PracticeSettings | None = None,
    nhs_start: int = 999_000_000,
) -> dict[str, int]:
    """Fill `db` (or one practice of a PCN: its id, settings and first NHS number body) and
    return counts of what was written."""
    rng = random.Random(seed)
    catalogue = build_catalogue(settings or PracticeSettings())
    profile = catalogue.profile
    stage_code = {n: sc.code for n, sc in profile.stage_codes.items()}
    generic = sorted(profile.generic_codes)[0]
    record = {c.key: c.record_code for c in catalogue if c.record_code}
    review = {c.key: sorted(c.review_codes)[0] for c in catalogue if c.review_codes}
    filler = [f"LOC{i:04d}" for i in range(600)]
    if practice_id is None:
        with db.write() as s:
            practice_id = get_or_create_practice(s).id
    pats: list[dict[str, Any]] = []
    numbers = nhs_numbers(patients, nhs_start)
    for i in range(patients):
        dob = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 30_000))
        r = rng.random()
        pats.append(
            {
                "practice_id": practice_id,
                "nhs_number": numbers[i],
                "family_name": f"Family{i}",
                "given_name": f"Given{i}",
                "date_of_birth": dob,
                "address_line1": f"{i % 200 + 1} High Street",
                "postcode": "LS1 4AP",
                "mobile": "07700900123" if r < 0.4 else None,
                "communication_needs": "large_print" if r > 0.98 else "",
                "date_of_death": dt.date(2026, 6, 1) if r < 0.005 else None,
                "deregistered_on": dt.date(2026, 5, 1) if 0.005 <= r < 0.015 else None,
            }
        )
    with db.write() as s:
        for chunk in _chunks(iter(pats)):
            s.execute(insert(patient_t), chunk)
        ids = [
            row[0]
            for row in s.execute(
                select(patient_t.c.id)
                .where(patient_t.c.practice_id == practice_id)
                .order_by(patient_t.c.id)
            )
        ]
    regs: list[dict[str, Any]] = []
    evs: list[dict[str, Any]] = []
    span = (TODAY - HISTORY_START).days
    for pid, p in zip(ids, pats, strict=True):
        conds = [c for c, prev in PREVALENCE.items() if rng.random() < prev]
        regs.extend({"patient_id": pid, "condition": c} for c in conds)
        used: set[tuple[dt.date, str]] = set()

        def add(day: dt.date, code: str, pid: int = pid, used: set[Any] = used) -> None:
            if (day, code) not in used and day <= TODAY:
                used.add((day, code))
                evs.append({"patient_id": pid, "date": day, "code": code, "code_system": "snomed"})

        month = p["date_of_birth"].month
        codable = [c for c in conds if c in record and not catalogue.conditions[c].provisional]
        if codable and 4 <= month <= 10:
            first = dt.date(2026, month, rng.randrange(1, 28))
            style = rng.random()
            gap = rng.randrange(3, 7) if rng.random() < 0.03 else rng.randrange(14, 22)
            for stage in (1, 2, 3):
                day = first + dt.timedelta(days=(stage - 1) * gap)
                add(day, stage_code[stage])
                if style < 0.7:
                    for c in codable:
                        add(day, record[c])  # type: ignore[arg-type]
                elif style < 0.85:
                    add(day, generic)
                if rng.random() < 0.4:
                    break
            for c in codable:
                if c in review and rng.random() < 0.4:
                    add(first + dt.timedelta(days=rng.randrange(5, 40)), review[c])
        n_fill = max(
            0,
            events // patients
            - len(used)
            + (1 if rng.random() < (events % patients) / patients else 0),
        )
        start = rng.randrange(0, len(filler))
        for k in range(min(n_fill, len(filler))):
            add(
                HISTORY_START + dt.timedelta(days=rng.randrange(0, span)),
                filler[(start + k) % len(filler)],
            )
    with db.write() as s:
        for chunk in _chunks(iter(regs)):
            s.execute(insert(register_t), chunk)
        for chunk in _chunks(iter(evs)):
            s.execute(insert(event_t), chunk)
        n_events = s.execute(
            select(func.count())
            .select_from(event_t)
            .join(patient_t, patient_t.c.id == event_t.c.patient_id)
            .where(patient_t.c.practice_id == practice_id)
        ).scalar_one()
    return {"patients": patients, "register_entries": len(regs), "events": int(n_events)}
