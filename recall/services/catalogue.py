"""Assemble the condition catalogue from data files, imported clusters and practice choices."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from recall.domain.catalogue import EMPTY, Catalogue, CodeList, CodeProfile, Condition, StageCode
from recall.resources import data_dir
from recall.services.qof_years import year_profiles
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


@dataclass(frozen=True)
class ClusterSource:
    """One cluster of the shipped table (data/qof/clusters.toml)."""

    name: str
    file: str = ""
    provisional: bool = False
    refset: str = ""
    no_refset: str = ""  # why the release cannot refresh it (no published refset id)


@lru_cache(maxsize=4)
def _cluster_table(path: Path) -> dict[str, ClusterSource]:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return {
        name.upper(): ClusterSource(
            name.upper(),
            str(spec.get("file", "")),
            bool(spec.get("provisional", False)),
            str(spec.get("refset", "")),
            str(spec.get("no_refset", "")),
        )
        for name, spec in raw.get("clusters", {}).items()
    }


def cluster_table() -> dict[str, ClusterSource]:
    """Cluster name -> shipped member file and refset id (what import-release looks for)."""
    return _cluster_table(data_dir() / "qof" / "clusters.toml")


def _code_list(
    name: str, imported: dict[str, dict[str, str]], table: dict[str, ClusterSource]
) -> CodeList:
    """A cluster's codes: the practice's import, else the shipped file, else empty."""
    key = name.upper()
    if key in imported:
        return CodeList(key, imported[key], source="imported")
    src = table.get(key)
    if src is not None and src.file:
        codes = read_codelist_file(data_dir() / "codelists" / src.file)
        return CodeList(key, codes, provisional=src.provisional)
    return CodeList(key, {}, source="none")


def build_catalogue(
    settings: PracticeSettings,
    imported: dict[str, dict[str, str]] | None = None,
    conditions_file: Path | None = None,
) -> Catalogue:
    """The catalogue for these settings; imported clusters replace shipped/provisional ones."""
    imported = imported or {}
    table = cluster_table()
    raw = _conditions_toml(conditions_file or data_dir() / "conditions.toml")
    conditions: dict[str, Condition] = {}
    for key, spec in raw["conditions"].items():
        key = key.upper()
        cluster = spec.get("invite_cluster", "")
        import_key = (cluster or f"{key}_INVITE").upper()
        invite = EMPTY
        if import_key in imported or cluster:
            invite = _code_list(import_key, imported, table)
            if not cluster:
                invite = CodeList("", invite.codes, source=invite.source)
            elif not invite.codes:
                invite = EMPTY
        provisional = invite.provisional
        care = tuple(_code_list(c, imported, table) for c in spec.get("care_clusters", []))
        parts = tuple(_code_list(c, imported, table) for c in spec.get("care_parts", []))
        merged: dict[str, str] = {}
        for cl in care:
            merged.update(cl.codes)
        review = CodeList("+".join(cl.cluster for cl in care), merged) if merged else EMPTY
        declines = tuple(
            cl
            for cl in (_code_list(c, imported, table) for c in spec.get("decline_clusters", []))
            if cl.codes
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
            easy_bring=spec.get("easy_bring", ""),
            invite_cluster=cluster,
            invite=invite,
            review=review,
            review_cluster=care[0].cluster if care else "",
            care=care,
            care_parts=parts,
            declines=declines,
            record_code=record_code,
            record_code_by_stage=by_stage,
            provisional=provisional,
            enabled=enabled,
            measured=bool(spec.get("measured", False)),
        )
    return Catalogue(conditions, load_profile(settings.clinical_system, settings), year_profiles())


def load_catalogue(session: Session, practice_id: int | None = None) -> Catalogue:
    """The catalogue as this practice has configured it."""
    return build_catalogue(get_settings(session, practice_id), imported_clusters(session))
