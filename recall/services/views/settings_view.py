"""Read and save the practice settings for the terminal UI (which has no sessions of its own).

Also the code-readiness table: one row per condition saying, in plain words, whether the tool
can record its invitation code and what to do when it cannot.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from recall.services.catalogue import build_catalogue as _build
from recall.services.catalogue import imported_clusters, load_profile
from recall.services.infra.operator import current_operator
from recall.services.settings import (
    CLINICAL_SYSTEMS,
    RECALL_RULES,
    ConditionChoice,
    PracticeSettings,
    get_settings,
    save_settings,
)
from recall.store.db import Database

RECALL_RULE_WORDS = {
    "birth_month": "Birth month",
    "review_anniversary": "Month of last review",
}

STATUS_WORDS = {
    "ready": "Ready",
    "provisional": "Not verified",
    "needs_code_list": "Needs its code list",
    "needs_record_code": "Needs a record code",
    "needs_stage_codes": "Needs letter codes",
    "off": "Turned off",
}


@dataclass(frozen=True)
class ConditionReadiness:
    """One condition as the settings screen and the dashboard show it."""

    key: str
    name: str
    ready: bool
    status: str
    status_words: str
    reason: str
    fix: str
    enabled: bool
    provisional: bool
    record_code: str | None
    cluster: str


@dataclass(frozen=True)
class SettingsView:
    settings: PracticeSettings
    readiness: tuple[ConditionReadiness, ...]
    clinical_systems: tuple[tuple[str, str], ...]  # (key, display name)
    recall_rules: tuple[tuple[str, str], ...]

    @property
    def blocked(self) -> tuple[ConditionReadiness, ...]:
        return tuple(r for r in self.readiness if not r.ready)


def readiness_rows(
    db: Database, *, practice_id: int | None = None
) -> tuple[ConditionReadiness, ...]:
    """Each condition's readiness for the practice's current settings."""
    with db.read() as session:
        settings = get_settings(session, practice_id)
        catalogue = _build(settings, imported_clusters(session))
    rows = []
    for cond in catalogue:
        r = cond.readiness(catalogue.profile)
        rows.append(
            ConditionReadiness(
                key=cond.key,
                name=cond.name,
                ready=r.ready,
                status=r.status,
                status_words=STATUS_WORDS.get(r.status, r.status.replace("_", " ")),
                reason=r.reason,
                fix=r.fix,
                enabled=cond.enabled,
                provisional=cond.provisional,
                record_code=cond.record_code,
                cluster=cond.invite_cluster,
            )
        )
    return tuple(rows)


def load_settings_view(db: Database, *, practice_id: int | None = None) -> SettingsView:
    """The settings and the code readiness table, read in one go."""
    with db.read() as session:
        settings = get_settings(session, practice_id)
    systems = tuple((key, load_profile(key).name) for key in CLINICAL_SYSTEMS)
    rules = tuple((key, RECALL_RULE_WORDS.get(key, key)) for key in RECALL_RULES)
    return SettingsView(settings, readiness_rows(db, practice_id=practice_id), systems, rules)


def update_settings(
    db: Database,
    new: PracticeSettings,
    *,
    operator: str | None = None,
    practice_id: int | None = None,
) -> list[str]:
    """Validate and save; returns the names of the settings that changed (audited)."""
    with db.write() as session:
        return save_settings(
            session, new, operator=operator or current_operator(), practice_id=practice_id
        )


def set_condition_enabled(
    db: Database,
    key: str,
    enabled: bool,
    *,
    operator: str | None = None,
    practice_id: int | None = None,
) -> list[str]:
    """Turn one condition on or off (a provisional one only after the UI has warned)."""
    with db.write() as session:
        settings = copy.deepcopy(get_settings(session, practice_id))
        choice = settings.conditions.get(key.upper()) or ConditionChoice()
        choice.enabled = enabled
        settings.conditions[key.upper()] = choice
        return save_settings(
            session, settings, operator=operator or current_operator(), practice_id=practice_id
        )


def clinical_system_name(db: Database, *, practice_id: int | None = None) -> str:
    """ "SystmOne" or "EMIS Web": the name staff know their clinical system by."""
    with db.read() as session:
        return load_profile(get_settings(session, practice_id).clinical_system).name
