"""Tables. Invariants that must hold with several terminals are enforced here, not in Python.

- every invitation, invited condition and recorded code belongs to exactly one practice: its
  `practice_id` is the practice of its patient and of its batch (composite foreign keys onto
  unique (id, practice_id) keys), so no row can point at another practice's patient or batch;

- one live invitation of a patient for a condition per stage per QOF year (partial unique
  index on invitation_condition);
- a live recorded code is unique on (patient, code, date) (partial unique index);
- an imported event is unique on (patient, date, code), so re-imports add nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Column, ForeignKeyConstraint, Index, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    """Timestamps are stored timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


LIVE_CODE = text("voided = false")
LIVE_CONDITION = text("live = true")


class Practice(SQLModel, table=True):
    __tablename__ = "practice"
    id: int | None = Field(default=None, primary_key=True)
    ods_code: str = Field(unique=True, max_length=12)
    name: str = ""


class Setting(SQLModel, table=True):
    """Practice settings as JSON values: one row per (practice, key)."""

    __tablename__ = "setting"
    practice_id: int = Field(foreign_key="practice.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=80)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Patient(SQLModel, table=True):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("practice_id", "nhs_number", name="uq_patient_nhs"),
        Index("uq_patient_id_practice", "id", "practice_id", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    nhs_number: str = Field(max_length=10, index=True)
    family_name: str
    given_name: str
    date_of_birth: dt.date
    title: str | None = None
    sex: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    address_line4: str | None = None
    postcode: str | None = None
    mobile: str | None = None
    email: str | None = None
    registered_on: dt.date | None = None
    deregistered_on: dt.date | None = None
    date_of_death: dt.date | None = None
    recall_month: int | None = None
    communication_needs: str = ""


class RegisterEntry(SQLModel, table=True):
    __tablename__ = "register_entry"
    __table_args__ = (UniqueConstraint("patient_id", "condition", name="uq_register"),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    condition: str = Field(max_length=12, index=True)
    diagnosed_on: dt.date | None = None
    resolved_on: dt.date | None = None


class Event(SQLModel, table=True):
    """A coded journal entry imported from the clinical system."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "code", name="uq_event"),
        Index("ix_event_code_date", "code", "date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    date: dt.date
    code: str = Field(max_length=20)
    term: str | None = None
    code_system: str = Field(default="snomed", max_length=8)
    value: str | None = Field(default=None, max_length=20)  # a reading: `48`, `150/90`
    import_id: int | None = Field(default=None, foreign_key="import_run.id")


class ImportRun(SQLModel, table=True):
    __tablename__ = "import_run"
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id")
    kind: str = Field(max_length=12)
    file_name: str
    sha256: str = Field(max_length=64)
    rows_read: int = 0
    rows_added: int = 0
    at: dt.datetime
    operator: str = ""


class Batch(SQLModel, table=True):
    __tablename__ = "batch"
    __table_args__ = (Index("uq_batch_id_practice", "id", "practice_id", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    kind: str = Field(default="monthly", max_length=10)  # monthly | adhoc
    stage: int
    cohort_month: str = Field(max_length=7)  # YYYY-MM
    qof_year: int  # start year of the QOF year of the planned send date
    planned_send_date: dt.date
    status: str = Field(default="planned", max_length=10)  # planned | sent | void
    sent_on: dt.date | None = None
    created_at: dt.datetime
    created_by: str = ""
    confirmed_at: dt.datetime | None = None
    confirmed_by: str | None = None
    voided_at: dt.datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None
    letters_dir: str | None = None
    letters_made_on: dt.date | None = None  # a send date may not be earlier than this
    letters_made_at: dt.datetime | None = None


class Invitation(SQLModel, table=True):
    """One patient in one batch: the conditions they are invited for and how."""

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("batch_id", "patient_id", name="uq_invitation_batch_patient"),
        Index("uq_invitation_id_practice", "id", "practice_id", unique=True),
        ForeignKeyConstraint(
            ["batch_id", "practice_id"],
            ["batch.id", "batch.practice_id"],
            name="fk_invitation_batch_practice",
        ),
        ForeignKeyConstraint(
            ["patient_id", "practice_id"],
            ["patient.id", "patient.practice_id"],
            name="fk_invitation_patient_practice",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    practice_id: int
    stage: int
    qof_year: int
    conditions: str  # comma-separated condition keys
    channel: str = Field(default="letter", max_length=8)  # letter | sms
    status: str = Field(default="planned", max_length=10)  # planned | excluded | sent | void
    reason: str | None = None  # why excluded (plain words)
    staff_excluded: bool = False  # staff unticked them: they can be ticked again
    flags: str | None = None  # comma-separated: late_in_year, no_letter, ...
    warning: str | None = None  # accepted at confirm with this warning
    letter_number: int | None = None  # position in the print file (or SMS file) when made


class InvitationCondition(SQLModel, table=True):
    """One condition invited in one invitation, at that condition's own stage.

    Progress is per patient x condition: the database allows one live invitation of a patient
    for a condition per stage per QOF year, so a condition added mid-year still gets its own
    1st and 2nd invitations beside the patient's other conditions.
    """

    __tablename__ = "invitation_condition"
    __table_args__ = (
        Index(
            "uq_invitation_condition_live",
            "patient_id",
            "condition",
            "stage",
            "qof_year",
            unique=True,
            sqlite_where=LIVE_CONDITION,
            postgresql_where=LIVE_CONDITION,
        ),
        ForeignKeyConstraint(
            ["invitation_id", "practice_id"],
            ["invitation.id", "invitation.practice_id"],
            name="fk_invitation_condition_invitation_practice",
        ),
        ForeignKeyConstraint(
            ["patient_id", "practice_id"],
            ["patient.id", "patient.practice_id"],
            name="fk_invitation_condition_patient_practice",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    patient_id: int = Field(foreign_key="patient.id")
    practice_id: int
    condition: str
    stage: int
    qof_year: int
    live: bool = True


class RecordedCode(SQLModel, table=True):
    """A code the tool dated and that must also be in the clinical system."""

    __tablename__ = "recorded_code"
    __table_args__ = (
        Index(
            "uq_recorded_code_live",
            "patient_id",
            "code",
            "date",
            unique=True,
            sqlite_where=LIVE_CODE,
            postgresql_where=LIVE_CODE,
        ),
        Index("ix_recorded_code_date_code", "date", "code"),
        ForeignKeyConstraint(
            ["patient_id", "practice_id"],
            ["patient.id", "patient.practice_id"],
            name="fk_recorded_code_patient_practice",
        ),
        ForeignKeyConstraint(
            ["batch_id", "practice_id"],
            ["batch.id", "batch.practice_id"],
            name="fk_recorded_code_batch_practice",
        ),
        ForeignKeyConstraint(
            ["invitation_id", "practice_id"],
            ["invitation.id", "invitation.practice_id"],
            name="fk_recorded_code_invitation_practice",
        ),
        ForeignKeyConstraint(
            ["backfill_run_id", "practice_id"],
            ["backfill_run.id", "backfill_run.practice_id"],
            name="fk_recorded_code_backfill_run_practice",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    practice_id: int
    code: str = Field(max_length=20)
    term: str = ""
    date: dt.date
    condition: str | None = Field(default=None, max_length=12)  # None for the stage code
    stage: int | None = None
    origin: str = Field(max_length=10)  # send | backfill
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    backfill_run_id: int | None = Field(default=None, foreign_key="backfill_run.id")
    reconciled: bool = False
    voided: bool = False
    created_at: dt.datetime


class BackfillRun(SQLModel, table=True):
    __tablename__ = "backfill_run"
    __table_args__ = (Index("uq_backfill_run_id_practice", "id", "practice_id", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id")
    date_from: dt.date
    date_to: dt.date
    at: dt.datetime
    operator: str = ""
    items: int = 0


class Response(SQLModel, table=True):
    """Staff marked that a patient booked or responded: no further invites this year."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("patient_id", "condition", "qof_year", "kind", name="uq_response"),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    condition: str = Field(max_length=12)
    qof_year: int
    kind: str = Field(max_length=10)  # booked | responded
    on: dt.date
    at: dt.datetime
    operator: str = ""


class CodelistEntry(SQLModel, table=True):
    """A cluster file the practice imported; replaces the shipped or provisional list."""

    __tablename__ = "codelist_entry"
    __table_args__ = (UniqueConstraint("cluster", "code", name="uq_codelist_entry"),)
    id: int | None = Field(default=None, primary_key=True)
    cluster: str = Field(max_length=40, index=True)
    code: str = Field(max_length=20)
    term: str = ""
    source: str = ""
    imported_at: dt.datetime


class AuditLog(SQLModel, table=True):
    """Append-only: who did what, when, to which ids. Never patient names or NHS numbers."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(index=True)
    operator: str
    action: str = Field(max_length=40, index=True)
    practice_id: int | None = None
    batch_id: int | None = None
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# Core tables: typed handles for set-based queries and bulk writes (no ORM object per row).
practice_t = _table(Practice)
setting_t = _table(Setting)
patient_t = _table(Patient)
register_t = _table(RegisterEntry)
event_t = _table(Event)
import_run_t = _table(ImportRun)
batch_t = _table(Batch)
invitation_t = _table(Invitation)
invitation_condition_t = _table(InvitationCondition)
recorded_code_t = _table(RecordedCode)
backfill_run_t = _table(BackfillRun)
response_t = _table(Response)
codelist_entry_t = _table(CodelistEntry)
audit_log_t = _table(AuditLog)
