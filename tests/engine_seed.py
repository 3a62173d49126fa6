"""Seeding helpers for the recall-engine tests: real rows through the store's Core tables."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from recall.services.settings import ConditionChoice, get_settings, save_settings
from recall.store.db import Database
from recall.store.models import (
    event_t,
    patient_t,
    recorded_code_t,
    register_t,
    response_t,
    utcnow,
)
from recall.store.practice_repo import get_or_create_practice

STAGE = {1: "XabEf", 2: "XabEh", 3: "XabEj"}
GENERIC = "1109921000000106"
GENERIC_CTV3 = "Y1f8f"
HYP = "1110941000000107"
DM = "1110921000000100"
AST = "1110841000000103"
AF = "1110851000000100"
HF = "1110931000000103"
AST_REVIEW = "270442000"


def nhs_numbers(start: int = 999_000_000) -> itertools.chain[str]:
    """Valid NHS numbers from the 999 test range (modulus 11)."""

    def gen() -> Any:
        n = start
        while True:
            n += 1
            body = f"{n:09d}"
            total = sum(int(d) * (10 - i) for i, d in enumerate(body))
            check = 11 - total % 11
            if check == 11:
                check = 0
            if check == 10:
                continue
            yield body + str(check)

    return itertools.chain(gen())


@dataclass
class Seeder:
    db: Database

    def __post_init__(self) -> None:
        self._nhs = nhs_numbers()
        with self.db.write() as s:
            pid = get_or_create_practice(s).id
            assert pid is not None
            self.practice_id = pid

    def patient(
        self,
        dob: dt.date = dt.date(1960, 11, 3),
        family: str = "Smith",
        given: str = "Ann",
        conditions: tuple[str, ...] = (),
        **kw: Any,
    ) -> tuple[int, str]:
        nhs = kw.pop("nhs_number", None) or next(self._nhs)
        kw.setdefault("address_line1", "1 High Street")
        kw.setdefault("postcode", "LS1 4AB")
        kw.setdefault("communication_needs", "")
        with self.db.write() as s:
            res: Any = s.execute(
                insert(patient_t).values(
                    practice_id=self.practice_id,
                    nhs_number=nhs,
                    family_name=family,
                    given_name=given,
                    date_of_birth=dob,
                    **kw,
                )
            )
            pid = int(res.inserted_primary_key[0])
            for c in conditions:
                s.execute(insert(register_t).values(patient_id=pid, condition=c))
        return pid, nhs

    def register(self, pid: int, cond: str, diagnosed_on: dt.date | None = None) -> None:
        with self.db.write() as s:
            s.execute(
                insert(register_t).values(patient_id=pid, condition=cond, diagnosed_on=diagnosed_on)
            )

    def events(self, *rows: tuple[int, dt.date, str]) -> None:
        with self.db.write() as s:
            s.execute(
                insert(event_t),
                [
                    {"patient_id": p, "date": d, "code": c, "code_system": "snomed"}
                    for p, d, c in rows
                ],
            )

    def response(self, pid: int, cond: str, on: dt.date, kind: str = "booked") -> None:
        with self.db.write() as s:
            s.execute(
                insert(response_t).values(
                    patient_id=pid, condition=cond, qof_year=2026, kind=kind, on=on, at=utcnow()
                )
            )

    def settings(self, enable: tuple[str, ...] = (), **kw: Any) -> None:
        with self.db.write() as s:
            st = get_settings(s, self.practice_id)
            for k, v in kw.items():
                setattr(st, k, v)
            for c in enable:
                st.conditions[c] = ConditionChoice(enabled=True)
            save_settings(s, st, operator="test", practice_id=self.practice_id)


def live_codes(db: Database, pid: int) -> set[tuple[str, dt.date]]:
    """A patient's recorded codes that count (not voided): (code, date)."""
    r = recorded_code_t
    with db.read() as s:
        q = select(r.c.code, r.c.date).where(r.c.patient_id == pid, r.c.voided.is_(False))
        return {(c, d) for c, d in s.execute(q)}
