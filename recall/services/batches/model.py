"""What the batch use-cases return: plain frozen dataclasses for the CLI, the UI and tests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from recall.domain.recall_month import age_on
from recall.letters.templates import parse_needs


@dataclass(frozen=True)
class BatchInfo:
    """One batch as staff see it in lists."""

    id: int
    kind: str  # monthly | adhoc
    stage: int
    month: str  # recall cohort, YYYY-MM (2nd/3rd letters: the month they were planned)
    qof_year: int  # start year of the QOF year (2026 = 2026/27)
    planned_send_date: dt.date
    status: str  # planned | sent | void
    sent_on: dt.date | None = None
    created_at: dt.datetime | None = None
    created_by: str = ""
    confirmed_at: dt.datetime | None = None
    confirmed_by: str | None = None
    voided_at: dt.datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None
    letters_dir: str | None = None
    invited: int = 0  # invitations planned or sent
    excluded: int = 0
    letters_made_on: dt.date | None = None


@dataclass(frozen=True)
class Invitee:
    """One patient invited in a batch, with what the letter and the review table need."""

    invitation_id: int
    patient_id: int
    nhs_number: str
    title: str | None
    given_name: str
    family_name: str
    date_of_birth: dt.date
    age: int
    address: tuple[str, ...]
    postcode: str | None
    mobile: str | None
    email: str | None
    conditions: tuple[str, ...]
    channel: str  # letter | sms
    needs: tuple[str, ...]
    flags: tuple[str, ...]  # late_in_year, no_letter, catch_up, ...
    status: str  # planned | sent | void
    warning: str | None = None  # accepted at confirm with this warning
    letter_number: int | None = None  # position in the print file or SMS file
    condition_stages: tuple[tuple[str, int], ...] = ()  # each condition's own stage

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def confirm_warnings(self) -> list[dict[str, str]]:
        """The warnings confirm accepted this patient with, one per condition, as confirm
        returned them (stored joined by "; ", split again before each "KEY: ")."""
        if not self.warning:
            return []
        keys = "|".join(re.escape(c) for c in sorted(self.conditions, key=len, reverse=True))
        parts = re.split(rf"; (?=(?:{keys}): )", self.warning) if keys else [self.warning]
        out = []
        for reason in parts:
            cond = reason.split(":", 1)[0] if ":" in reason else ""
            out.append(
                {
                    "nhs_number": self.nhs_number,
                    "patient_id": str(self.patient_id),
                    "condition": cond,
                    "reason": reason,
                }
            )
        return out


@dataclass(frozen=True)
class Excluded:
    """A patient considered for the batch but left out, and why (in plain words)."""

    patient_id: int
    nhs_number: str
    given_name: str
    family_name: str
    reason: str
    conditions: tuple[str, ...] = ()  # the conditions that were due (staff exclusions)
    by_staff: bool = False  # staff unticked them: they can be ticked again
    invitation_id: int | None = None
    waiting_until: dt.date | None = None  # waiting for the stage interval until this date
    letter_number: int | None = None  # a letter was made for them: take it out
    channel: str = "letter"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class BatchPlan:
    """A batch with its invitations and exclusions (plan_batch and get_batch return this)."""

    batch: BatchInfo
    invitations: list[Invitee]
    excluded: list[Excluded]
    warnings: list[str] = field(default_factory=list)  # e.g. blocked conditions


@dataclass(frozen=True)
class CodeLine:
    """A code the tool recorded: what must also be entered in the clinical system."""

    patient_id: int
    nhs_number: str
    given_name: str
    family_name: str
    code: str
    term: str
    date: dt.date
    condition: str | None  # None for the LTC stage code and the generic code
    stage: int | None


@dataclass(frozen=True)
class ConfirmResult:
    batch: BatchInfo
    codes: list[CodeLine]
    warnings: list[dict[str, str]]  # {nhs_number, patient_id, condition, reason}
    dropped: list[Excluded]  # died / left / reviewed / excluded at confirm
    take_out: list[str] = field(default_factory=list)  # "letter 4", "text 2": made, not coded


def batch_info(row: Any, invited: int = 0, excluded: int = 0) -> BatchInfo:
    return BatchInfo(
        id=row.id,
        kind=row.kind,
        stage=row.stage,
        month=row.cohort_month,
        qof_year=row.qof_year,
        planned_send_date=row.planned_send_date,
        status=row.status,
        sent_on=row.sent_on,
        created_at=row.created_at,
        created_by=row.created_by,
        confirmed_at=row.confirmed_at,
        confirmed_by=row.confirmed_by,
        voided_at=row.voided_at,
        voided_by=row.voided_by,
        void_reason=row.void_reason,
        letters_dir=row.letters_dir,
        invited=invited,
        excluded=excluded,
        letters_made_on=row.letters_made_on,
    )


def invitee(r: Any, day: dt.date, stages: dict[str, int] | None = None) -> Invitee:
    """An Invitee from an invitation row joined with its patient."""
    conds = tuple(c for c in (r.conditions or "").split(",") if c)
    return Invitee(
        invitation_id=r.invitation_id,
        patient_id=r.id,
        nhs_number=r.nhs_number,
        title=r.title,
        given_name=r.given_name,
        family_name=r.family_name,
        date_of_birth=r.date_of_birth,
        age=age_on(r.date_of_birth, day),
        address=tuple(
            a for a in (r.address_line1, r.address_line2, r.address_line3, r.address_line4) if a
        ),
        postcode=r.postcode,
        mobile=r.mobile,
        email=r.email,
        conditions=conds,
        channel=r.channel,
        needs=parse_needs(r.communication_needs),
        flags=tuple(f for f in (r.flags or "").split(",") if f),
        status=r.status,
        warning=r.warning,
        letter_number=r.letter_number,
        condition_stages=tuple((c, (stages or {}).get(c, 0)) for c in conds),
    )


def excluded(r: Any) -> Excluded:
    return Excluded(
        patient_id=r.id,
        nhs_number=r.nhs_number,
        given_name=r.given_name,
        family_name=r.family_name,
        reason=r.reason or "",
        conditions=tuple(c for c in (r.conditions or "").split(",") if c),
        by_staff=bool(r.staff_excluded),
        invitation_id=r.invitation_id,
        letter_number=r.letter_number,
        channel=r.channel,
    )


def as_made_note(b: BatchInfo) -> str | None:
    """Why a planned list whose letters were made does not change (None for any other)."""
    made = b.letters_made_on
    if b.status != "planned" or made is None:
        return None
    return (
        f"The letters for this list were made on {made.day} {made:%B %Y}, so it stays as "
        "they were made. Anyone due since then goes in the next list, once this one is "
        "recorded as sent."
    )
