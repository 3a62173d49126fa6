"""The practice's settings as one typed model, stored key by key in the database."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from recall.domain.pca import MIN_GAP_DAYS
from recall.domain.text import describe_char, find_control
from recall.services.errors import RecallError
from recall.services.practice_scope import resolve_practice_id
from recall.store.audit_repo import append_audit
from recall.store.settings_repo import load_settings, save_setting

RECALL_RULES = ("birth_month", "review_anniversary")
# conditions a posted letter or a text does not name unless the practice says so: the
# envelope may be opened by someone else (depression, serious mental illness, dementia,
# learning disability); the letter says "your annual health review" instead
SENSITIVE_DEFAULT = ["DEPR", "MH", "DEM", "LD"]
CLINICAL_SYSTEMS = ("systmone", "emis")


@dataclass
class ConditionChoice:
    """A practice's choices for one condition (all optional)."""

    enabled: bool | None = None
    record_code: str | None = None
    record_code_by_stage: dict[str, str] = field(default_factory=dict)


@dataclass
class PracticeSettings:
    practice_name: str = "Your GP Practice"
    address: list[str] = field(default_factory=list)
    phone: str = ""
    booking_url: str = ""
    email: str = ""
    recall_rule: str = "birth_month"
    stage_interval_days: int = 14
    clinical_system: str = "systmone"
    record_generic: bool = False
    sms_enabled: bool = False
    signatory: str = ""  # e.g. "Dr A Patel, GP partner": signs the letters when set
    sensitive_conditions: list[str] = field(default_factory=lambda: list(SENSITIVE_DEFAULT))
    name_sensitive_conditions: bool = False  # True: letters name them like any other
    conditions: dict[str, ConditionChoice] = field(default_factory=dict)
    stage_codes: dict[str, dict[str, str]] = field(default_factory=dict)  # "1": {code, term}

    def validate(self) -> None:
        if self.recall_rule not in RECALL_RULES:
            raise RecallError(f"recall rule must be one of {', '.join(RECALL_RULES)}")
        if self.clinical_system not in CLINICAL_SYSTEMS:
            raise RecallError(f"clinical system must be one of {', '.join(CLINICAL_SYSTEMS)}")
        if not isinstance(self.stage_interval_days, int) or self.stage_interval_days < MIN_GAP_DAYS:
            raise RecallError(f"the stage interval must be at least {MIN_GAP_DAYS} days")
        # printed on every letter and shown on screen: plain text only (NUL breaks PostgreSQL)
        texts = {
            "practice name": self.practice_name,
            "phone": self.phone,
            "booking link": self.booking_url,
            "email": self.email,
            "signatory": self.signatory,
            **{f"address line {i}": line for i, line in enumerate(self.address, 1)},
        }
        for label, value in texts.items():
            bad = find_control(value or "")
            if bad is not None:
                raise RecallError(
                    f"the {label} contains a control character {describe_char(value[bad])}: "
                    "type plain text"
                )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PracticeSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        conds = values.pop("conditions", {}) or {}
        out = cls(**values)
        out.conditions = {key.upper(): ConditionChoice(**choice) for key, choice in conds.items()}
        return out


def get_settings(session: Session, practice_id: int | None = None) -> PracticeSettings:
    pid = resolve_practice_id(session, practice_id)
    assert pid is not None
    return PracticeSettings.from_json(load_settings(session, pid))


def save_settings(
    session: Session,
    new: PracticeSettings,
    *,
    operator: str,
    practice_id: int | None = None,
) -> list[str]:
    """Write the settings that changed and audit each change; return the changed keys."""
    new.validate()
    pid = resolve_practice_id(session, practice_id)
    assert pid is not None
    old = get_settings(session, pid).to_json()
    changed = []
    for key, value in new.to_json().items():
        if old.get(key) != value:
            save_setting(session, pid, key, value)
            changed.append(key)
    if changed:
        append_audit(
            session,
            operator=operator,
            action="settings.change",
            practice_id=pid,
            details={"changed": changed},
        )
    return changed
