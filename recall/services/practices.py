"""The practices of one database: a single practice, or a PCN hub's several.

Each practice has its own ODS code, name, clinical system and settings; every command works
on one chosen practice. A single-practice database needs no choice (today's behaviour); with
several, a command that acts on patients must be told which one.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from recall.services.errors import NotFound, RecallError
from recall.services.infra.database import output_root
from recall.services.infra.operator import current_operator
from recall.services.practice_scope import (
    PracticeChoiceError,
    PracticeSummary,
    practice_summaries,
    resolve_practice_id,
)
from recall.services.settings import (
    CLINICAL_SYSTEMS,
    PracticeSettings,
    get_settings,
    save_settings,
)
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.environment import environment
from recall.store.practice_repo import (
    DEFAULT_ODS,
    all_practices,
    batch_practice,
    find_practice,
    insert_practice,
    patient_count,
    rename_practice,
)

# English GP practice ODS codes: one letter and five digits (B86001, Y02345)
ODS_PATTERN = re.compile(r"[A-Z][0-9]{5}")


@dataclass(frozen=True)
class PracticeDetails:
    """One practice as `recall practice show` prints it: letterhead, system and settings."""

    practice: PracticeSummary
    patients: int
    settings: dict[str, Any]


def _summaries(session: Session) -> list[PracticeSummary]:
    return practice_summaries(session)


def list_practices(db: Database) -> list[PracticeSummary]:
    """Every practice of the database, ordered by ODS code."""
    with db.read() as session:
        return _summaries(session)


def clean_ods(ods: str) -> str:
    """The ODS code in upper case, or a one-line error saying what one looks like."""
    code = (ods or "").strip().upper()
    if not ODS_PATTERN.fullmatch(code):
        raise RecallError(
            f"{ods!r} is not a practice ODS code: one letter and five digits, e.g. B86001"
        )
    return code


def _clean_name(name: str) -> str:
    text = (name or "").strip()
    if not text:
        raise RecallError("give the practice its name with --name")
    return text


def add_practice(
    db: Database,
    ods: str,
    *,
    name: str,
    clinical_system: str,
    operator: str | None = None,
) -> PracticeSummary:
    """Set up a practice (audited). A database still on its unnamed placeholder practice
    (made before any practice was added) keeps its patients: the placeholder becomes this one."""
    code, label = clean_ods(ods), _clean_name(name)
    system = (clinical_system or "").strip().lower()
    if system not in CLINICAL_SYSTEMS:
        raise RecallError(f"clinical system must be one of {', '.join(CLINICAL_SYSTEMS)}")
    who = operator or current_operator()
    with db.write() as session:
        if find_practice(session, code) is not None:
            raise RecallError(f"practice {code} is already set up")
        existing = all_practices(session)
        adopted = len(existing) == 1 and existing[0][1] == DEFAULT_ODS
        if adopted:
            pid = existing[0][0]
            rename_practice(session, pid, ods_code=code, name=label)
        else:
            pid = insert_practice(session, code, label)
        settings = copy.deepcopy(get_settings(session, pid))
        settings.practice_name, settings.clinical_system = label, system
        save_settings(session, settings, operator=who, practice_id=pid)
        append_audit(
            session,
            operator=who,
            action="practice.add",
            practice_id=pid,
            details={"ods_code": code, "clinical_system": system, "adopted": adopted},
        )
        return PracticeSummary(pid, code, label, system)


def _unknown(code: str, known: list[PracticeSummary]) -> RecallError:
    names = ", ".join(f"{p.ods_code} ({p.name or 'no name'})" for p in known)
    return RecallError(
        f"no practice {code} in this database"
        + (f"; its practices are {names}" if names else "")
        + f" (add one with: recall practice add {code} --name NAME --system systmone|emis)"
    )


def choose_practice(db: Database, ods: str | None) -> PracticeSummary:
    """The practice a command works on: the one named, else the only one.

    None and several practices -> PracticeChoiceError; None and none -> the placeholder
    practice is made as before, so single-practice users never have to name one.
    """
    with db.read() as session:
        known = _summaries(session)
    if ods is not None and ods.strip():
        code = ods.strip().upper()
        for p in known:
            if p.ods_code == code:
                return p
        raise _unknown(code, known)
    if len(known) == 1:
        return known[0]
    if len(known) > 1:
        raise PracticeChoiceError(known)
    with db.write() as session:
        pid = resolve_practice_id(session, None)
        return next(p for p in practice_summaries(session) if p.id == pid)


def practice_folder(db: Database, practice_id: int | None) -> str | None:
    """The sub-folder of a practice's own files (letters, worksheets, templates): its ODS code
    when the database holds several practices; None with one, so its paths never change."""
    if practice_id is None:
        return None
    with db.read() as session:
        rows = all_practices(session)
    if len(rows) < 2:
        return None
    return next((ods for pid, ods, _name in rows if pid == practice_id), None)


def practice_output_root(db: Database, practice_id: int | None) -> Path:
    """Where a practice's letters and worksheets go: this database's output folder, in a
    sub-folder per practice when there are several."""
    folder = practice_folder(db, practice_id)
    root = output_root(db)
    return root / folder if folder else root


def batch_output_root(db: Database, batch_id: int) -> Path:
    """The output folder of the practice a batch belongs to."""
    with db.read() as session:
        owner = batch_practice(session, batch_id)
    return practice_output_root(db, owner)


def practice_from_environment() -> str:
    """RECALL_PRACTICE: the ODS code a terminal works on when --practice is not given."""
    return environment().practice


def check_batch_practice(db: Database, batch_id: int, practice: PracticeSummary) -> None:
    """A batch of another practice is, for this practice, no batch at all."""
    with db.read() as session:
        owner = batch_practice(session, batch_id)
    if owner is not None and owner != practice.id:
        raise NotFound(f"no batch {batch_id} for practice {practice.ods_code}")


# -- show and set ---------------------------------------------------------------------------

SHOWN = (
    "practice_name",
    "address",
    "phone",
    "email",
    "booking_url",
    "signatory",
    "clinical_system",
    "recall_rule",
    "stage_interval_days",
    "sms_enabled",
    "record_generic",
    "name_sensitive_conditions",
    "sensitive_conditions",
    "stage_codes",
)
# what `recall practice set` accepts: the words staff type -> the setting
SETTABLE = {
    "name": "practice_name",
    "practice_name": "practice_name",
    "address": "address",
    "phone": "phone",
    "email": "email",
    "booking_url": "booking_url",
    "signatory": "signatory",
    "signed_by": "signatory",
    "system": "clinical_system",
    "clinical_system": "clinical_system",
    "recall_rule": "recall_rule",
    "recall_month": "recall_rule",
    "interval": "stage_interval_days",
    "stage_interval_days": "stage_interval_days",
    "sms": "sms_enabled",
    "sms_enabled": "sms_enabled",
    "record_generic": "record_generic",
    "name_sensitive_conditions": "name_sensitive_conditions",
}
_TRUE = {"yes", "on", "true", "1"}
_FALSE = {"no", "off", "false", "0"}


def _details(session: Session, summary: PracticeSummary) -> PracticeDetails:
    raw = get_settings(session, summary.id).to_json()
    return PracticeDetails(
        practice=summary,
        patients=patient_count(session, summary.id),
        settings={k: raw[k] for k in SHOWN},
    )


def practice_details(db: Database, ods: str) -> PracticeDetails:
    """Letterhead, clinical system and settings of one practice."""
    summary = choose_practice(db, ods)
    with db.read() as session:
        return _details(session, summary)


def _parse(field: str, key: str, value: str) -> Any:
    """The typed value of a setting from the text typed on the command line."""
    text = value.strip()
    if field == "address":
        return [line.strip() for line in text.split("|") if line.strip()]
    if field == "stage_interval_days":
        try:
            return int(text)
        except ValueError:
            raise RecallError(f"{key} must be a whole number of days, got {value!r}") from None
    if field in ("sms_enabled", "record_generic", "name_sensitive_conditions"):
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise RecallError(f"{key} must be yes or no, got {value!r}")
    if field in ("clinical_system", "recall_rule"):
        return text.lower()
    if field == "practice_name" and not text:
        raise RecallError("the practice name cannot be blank")
    return text


def set_practice_value(
    db: Database, ods: str, key: str, value: str, *, operator: str | None = None
) -> tuple[PracticeDetails, list[str]]:
    """Change one setting of one practice (validated, audited); returns it and what changed."""
    word = key.strip().lower().replace("-", "_")
    field = SETTABLE.get(word)
    if field is None:
        words = ", ".join(sorted({k.replace("_", "-") for k in SETTABLE}))
        raise RecallError(f"unknown practice setting {key!r}: use one of {words}")
    summary = choose_practice(db, ods)
    new_value = _parse(field, key, value)
    with db.write() as session:
        settings: PracticeSettings = copy.deepcopy(get_settings(session, summary.id))
        setattr(settings, field, new_value)
        changed = save_settings(
            session, settings, operator=operator or current_operator(), practice_id=summary.id
        )
        if field == "practice_name":
            rename_practice(session, summary.id, ods_code=summary.ods_code, name=new_value)
            summary = PracticeSummary(
                summary.id, summary.ods_code, new_value, summary.clinical_system
            )
        elif field == "clinical_system":
            summary = PracticeSummary(summary.id, summary.ods_code, summary.name, new_value)
        return _details(session, summary), changed


__all__ = [
    "PracticeChoiceError",
    "PracticeDetails",
    "PracticeSummary",
    "add_practice",
    "batch_output_root",
    "check_batch_practice",
    "choose_practice",
    "clean_ods",
    "list_practices",
    "practice_details",
    "practice_folder",
    "practice_from_environment",
    "practice_output_root",
    "set_practice_value",
]
