"""Assemble the condition catalogue from data files, imported clusters and practice choices."""

from __future__ import annotations

import csv
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from recall.domain.catalogue import EMPTY, Catalogue, CodeList, CodeProfile, Condition, StageCode
from recall.resources import data_dir
from recall.services.settings import PracticeSettings, get_settings
from recall.store.models import codelist_entry_t


@lru_cache(maxsize=64)
def read_codelist_file(path: Path) -> dict[str, str]:
    """An OpenCodelists `code,term` CSV as {code: term}."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return {
            row["code"].strip(): (row.get("term") or "").strip()
            for row in csv.DictReader(fh)
            if row.get("code")
        }


@lru_cache(maxsize=4)
def _conditions_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_profile(key: str, settings: PracticeSettings | None = None) -> CodeProfile:
    path = data_dir() / "profiles" / f"{key}.toml"
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    stages = {
        int(n): StageCode(v["code"], v.get("term", ""))
        for n, v in raw.get("stage_codes", {}).items()
    }
    if settings is not None:
        for n, v in settings.stage_codes.items():
            if v.get("code"):
                stages[int(n)] = StageCode(v["code"], v.get("term", ""))
    generic = raw.get("generic", {})
    record = generic.get("record_code")
    return CodeProfile(
        key=raw["key"],
        name=raw["name"],
        stage_codes=stages,
        generic_codes=frozenset(generic.get("codes", [])),
        generic_record_code=StageCode(record, generic.get("record_term", "")) if record else None,
        equivalents=dict(raw.get("equivalents", {})),
    )


def imported_clusters(session: Session) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    t = codelist_entry_t
    rows = session.execute(select(t.c.cluster, t.c.code, t.c.term))
    for cluster, code, term in rows:
        out.setdefault(cluster.upper(), {})[code] = term
    return out


def build_catalogue(
    settings: PracticeSettings,
    imported: dict[str, dict[str, str]] | None = None,
    conditions_file: Path | None = None,
) -> Catalogue:
    """The catalogue for these settings; imported clusters replace shipped/provisional ones."""
    imported = imported or {}
    base = data_dir() / "codelists"
    raw = _conditions_toml(conditions_file or data_dir() / "conditions.toml")
    conditions: dict[str, Condition] = {}
    for key, spec in raw["conditions"].items():
        key = key.upper()
        cluster = spec.get("invite_cluster", "")
        provisional = bool(spec.get("provisional", False))
        invite = EMPTY
        import_key = cluster or f"{key}_INVITE"
        if import_key.upper() in imported:
            invite = CodeList(import_key, imported[import_key.upper()], source="imported")
            provisional = False
        elif spec.get("invite_file"):
            invite = CodeList(
                cluster, read_codelist_file(base / spec["invite_file"]), provisional=provisional
            )
        review_cluster = spec.get("review_cluster", "")
        review = EMPTY
        if review_cluster and review_cluster.upper() in imported:
            review = CodeList(review_cluster, imported[review_cluster.upper()], source="imported")
        elif spec.get("review_file"):
            review = CodeList(review_cluster, read_codelist_file(base / spec["review_file"]))
        declines = tuple(
            CodeList(
                Path(f).stem.upper(), read_codelist_file(base / f), provisional="provisional" in f
            )
            for f in spec.get("decline_files", [])
        )
        choice = settings.conditions.get(key)
        enabled = not provisional
        record_code = spec.get("record_code")
        by_stage: dict[int, str] = {}
        if choice is not None:
            if choice.enabled is not None:
                enabled = choice.enabled
            if choice.record_code:
                record_code = choice.record_code
            by_stage = {int(k): v for k, v in choice.record_code_by_stage.items() if v}
        conditions[key] = Condition(
            key=key,
            name=spec["name"],
            plain_name=spec.get("plain_name", spec["name"].lower()),
            bring=spec.get("bring", ""),
            invite_cluster=cluster,
            invite=invite,
            review=review,
            review_cluster=review_cluster,
            declines=declines,
            record_code=record_code,
            record_code_by_stage=by_stage,
            provisional=provisional,
            enabled=enabled,
            measured=bool(spec.get("measured", False)),
        )
    return Catalogue(conditions, load_profile(settings.clinical_system, settings))


def load_catalogue(session: Session, practice_id: int | None = None) -> Catalogue:
    """The catalogue as this practice has configured it."""
    return build_catalogue(get_settings(session, practice_id), imported_clusters(session))
