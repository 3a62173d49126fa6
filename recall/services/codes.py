"""Configuring codes: which conditions are ready, importing cluster files, choosing codes.

The catalogue decides readiness (domain/catalogue.py); this module changes what it is built
from: imported cluster files (CodelistEntry rows, which replace the shipped or provisional
list of the same cluster) and the practice's choices (PracticeSettings). Every change is one
transaction and one audit entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue, Condition
from recall.domain.codes import verhoeff_valid
from recall.domain.free_text import mask_nhs_shaped
from recall.domain.qof_year import qof_year_of
from recall.domain.text import printable
from recall.importers.codelist import CodelistFile, read_codelist
from recall.importers.problems import ImportFileError
from recall.importers.release import looks_like_refset_file, read_refset_file
from recall.services.catalogue import cluster_table, load_catalogue
from recall.services.errors import NotFound, RecallError, Refused
from recall.services.infra.operator import current_operator
from recall.services.practice_scope import resolve_practice_id
from recall.services.settings import ConditionChoice, get_settings, save_settings
from recall.store.audit_repo import append_audit
from recall.store.bulk import insert_many
from recall.store.db import Database
from recall.store.models import codelist_entry_t

STAGES = (1, 2, 3)
MAX_CODE = 20
RELEASE_COMMAND = "recall codes import-release FOLDER"


@dataclass
class ConditionCodes:
    key: str
    name: str
    ready: bool
    status: str
    reason: str
    fix: str
    invite_cluster: str
    import_name: str  # what to pass to `recall codes import`
    invite_codes: int
    source: str  # shipped | provisional | imported | none
    enabled: bool
    record_code: str | None
    record_term: str
    record_code_by_stage: dict[int, str]
    review_cluster: str
    review_codes: int
    care_clusters: list[str] = field(default_factory=list)
    care_status: str = ""  # ready | partial | care_list_needed | none
    care: str = ""  # the care lists in words, or what is missing
    care_missing: list[str] = field(default_factory=list)
    qof_year: str = ""  # the current QOF year, e.g. 2026/27
    qof_status: str = ""  # pca | no_qof
    qof: str = ""  # this year's indicators for the condition, in words
    # clusters of this condition the official release cannot refresh: (cluster, why, fix)
    not_in_release: list[dict[str, str]] = field(default_factory=list)


@dataclass
class StageCodeView:
    stage: int
    code: str | None
    term: str


@dataclass
class CodesReport:
    clinical_system: str
    profile: str
    stage_codes: list[StageCodeView]
    generic_codes: list[str]
    conditions: list[ConditionCodes]
    ready: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    qof_year: str = ""
    # refsets published for conditions the catalogue cannot code yet (e.g. obesity in 2026/27)
    new_invitations: list[dict[str, str]] = field(default_factory=list)
    release_command: str = RELEASE_COMMAND


@dataclass
class ClusterImportResult:
    cluster: str
    role: str  # invite | review
    conditions: list[str]
    codes: int
    replaced: int
    skipped_other_clusters: list[str]
    after: list[ConditionCodes]


def import_name(cond: Condition) -> str:
    """The cluster name the catalogue looks up imported codes under for this condition."""
    return (cond.invite_cluster or f"{cond.key}_INVITE").upper()


def release_gaps(cond: Condition) -> list[dict[str, str]]:
    """The condition's clusters that have no refset id, so `import-release` cannot refresh
    them: each with why (from the shipped cluster table) and the file import that can."""
    table = cluster_table()
    names = [import_name(cond)] if cond.invite_cluster else []
    names += [cl.cluster for cl in (*cond.care, *cond.care_parts, *cond.declines)]
    out: list[dict[str, str]] = []
    for name in dict.fromkeys(n.upper() for n in names if n):
        src = table.get(name)
        if src is not None and src.refset:
            continue
        why = src.no_refset if src is not None and src.no_refset else "no refset id is known"
        out.append(
            {
                "cluster": name,
                "reason": f"{name} cannot be refreshed from the release: {why}",
                "fix": f"recall codes import {name} FILE",
            }
        )
    return out


def condition_view(
    cond: Condition, catalogue: Catalogue, today: dt.date | None = None
) -> ConditionCodes:
    """One condition as `recall codes` shows it: invite list, care list, QOF year, fix."""
    r = cond.readiness(catalogue.profile)
    year = catalogue.year_profile(qof_year_of(today or dt.date.today()))
    care_status, care = cond.care_status()
    qof_status, qof = year.qof_status(cond.key)
    if qof_status == "pca" and not cond.invite_cluster:
        qof = "QOF publishes no invitation cluster for it, so no invitation can be coded"
    if not cond.invite.codes:
        source = "none"
    elif cond.invite.source == "imported":
        source = "imported"
    else:
        source = "provisional" if cond.provisional else "shipped"
    record = cond.record_code
    return ConditionCodes(
        key=cond.key,
        name=cond.name,
        ready=r.ready,
        status=r.status,
        reason=r.reason,
        fix=r.fix,
        invite_cluster=cond.invite_cluster,
        import_name=import_name(cond) if cond.invite_cluster else cond.key,
        invite_codes=len(cond.invite.codes),
        source=source,
        enabled=cond.enabled,
        record_code=record,
        record_term=cond.invite.term(record) if record else "",
        record_code_by_stage=dict(cond.record_code_by_stage),
        review_cluster=cond.review_cluster,
        review_codes=len(cond.review.codes),
        care_clusters=list(cond.care_clusters),
        care_status=care_status,
        care=care,
        care_missing=list(cond.care_missing),
        qof_year=year.label,
        qof_status=qof_status,
        qof=qof,
        not_in_release=release_gaps(cond),
    )


def _report(session: Session, today: dt.date | None, practice_id: int | None) -> CodesReport:
    pid = resolve_practice_id(session, practice_id)
    catalogue = load_catalogue(session, pid)
    settings = get_settings(session, pid)
    profile = catalogue.profile
    views = [condition_view(c, catalogue, today) for c in catalogue]
    year = catalogue.year_profile(qof_year_of(today or dt.date.today()))
    return CodesReport(
        clinical_system=settings.clinical_system,
        profile=profile.name,
        stage_codes=[
            StageCodeView(
                n,
                sc.code if (sc := profile.stage_code(n)) else None,
                sc.term if sc else "",
            )
            for n in STAGES
        ],
        generic_codes=sorted(profile.generic_codes),
        conditions=views,
        ready=[v.key for v in views if v.ready],
        blocked=[v.key for v in views if not v.ready],
        qof_year=year.label,
        new_invitations=[
            {
                "key": n.key,
                "name": n.name,
                "refset": n.refset,
                "status": "needs_code_list",
                "reason": f"needs its code list (invitation refset {n.refset}); {n.note}",
                "fix": f"import the UK Primary Care SNOMED release: {RELEASE_COMMAND}",
            }
            for n in year.new_invitations
        ],
    )


def codes_report(
    db: Database, today: dt.date | None = None, *, practice_id: int | None = None
) -> CodesReport:
    """Every condition with invite list, care list, QOF-year status and the fix."""
    with db.read() as session:
        return _report(session, today, practice_id)


def _condition(catalogue: Catalogue, key: str) -> Condition:
    cond = catalogue.get(key.strip())
    if cond is None:
        keys = ", ".join(c.key for c in catalogue)
        raise NotFound(f"unknown condition {key!r}: use one of {keys}")
    return cond


def catalogue_clusters(catalogue: Catalogue) -> dict[str, tuple[str, list[str]]]:
    """Every cluster the catalogue names -> (role, condition keys), roles in priority order."""
    out: dict[str, tuple[str, list[str]]] = {}

    def add(name: str, role: str, key: str) -> None:
        name = name.upper()
        if not name:
            return
        got = out.setdefault(name, (role, []))
        if key not in got[1]:
            got[1].append(key)

    for c in catalogue:
        if c.invite_cluster:
            add(import_name(c), "invite", c.key)
    for c in catalogue:
        for name in c.care_clusters:
            add(name, "review", c.key)
    for c in catalogue:
        for cl in c.care_parts:
            add(cl.cluster, "care_part", c.key)
        for cl in c.declines:
            add(cl.cluster, "decline", c.key)
    return out


def resolve_cluster(catalogue: Catalogue, name: str) -> tuple[str, str, list[str]]:
    """(cluster to store, role, condition keys) for a condition key or a cluster name."""
    wanted = name.strip().upper()
    cond = catalogue.get(wanted)
    if cond is not None:
        return import_name(cond), "invite", [cond.key]
    known = catalogue_clusters(catalogue)
    if wanted in known:
        role, keys = known[wanted]
        return wanted, role, keys
    raise NotFound(
        f"unknown cluster {name!r}: give a condition key ({', '.join(c.key for c in catalogue)}) "
        f"or a cluster the catalogue uses ({', '.join(sorted(known))})"
    )


def _refset_file(path: Path, cluster: str) -> CodelistFile:
    """One RF2 simple refset file: the active members of the cluster's refset (or of the only
    refset in the file, when the cluster's refset id is not known)."""
    members = read_refset_file(path)
    src = cluster_table().get(cluster)
    refset = src.refset if src is not None and src.refset in members else ""
    if not refset and len(members) == 1 and (src is None or not src.refset):
        refset = next(iter(members))
    out = CodelistFile(path.name, code_column="referencedComponentId")
    if refset:
        out.codes = dict.fromkeys(sorted(members[refset]), "")
    else:
        out.other_clusters = {f"refset {r}" for r in members}
    return out


def _read_cluster_file(
    path: Path, cluster: str, role: str, generic: frozenset[str]
) -> CodelistFile:
    """The file's codes for `cluster`, or a refusal naming the line (nothing is imported)."""
    row_filter = cluster if not cluster.endswith("_INVITE") else None
    try:
        if looks_like_refset_file(path):
            parsed = _refset_file(path, cluster)
        else:
            parsed = read_codelist(path, row_filter)
    except ImportFileError as exc:
        raise RecallError(f"nothing was imported: {exc}") from None
    if parsed.problems:
        first = next(iter(parsed.problems))
        more = f" (and {parsed.problems.count - 1} more)" if parsed.problems.count > 1 else ""
        raise Refused(
            f"nothing was imported: {first}{more}",
            [{"line": str(p.line), "value": p.value, "reason": p.message} for p in parsed.problems],
        )
    if not parsed.codes:
        others = ", ".join(sorted(parsed.other_clusters)[:5])
        hint = f" (it holds {others})" if others else ""
        raise RecallError(f"{parsed.name}: no codes for {cluster} in this file{hint}")
    if role == "invite" and not any(c not in generic for c in parsed.codes):
        raise Refused(
            f"{parsed.name}: holds only the generic QOF invite code, "
            f"not {cluster}'s condition-specific codes: is it the right file?"
        )
    return parsed


def import_cluster(
    db: Database,
    name: str,
    path: str | Path,
    operator: str | None = None,
    *,
    practice_id: int | None = None,
) -> ClusterImportResult:
    """Load a cluster file, replacing any earlier import of the same cluster."""
    operator = operator or current_operator()
    path = Path(path)
    if not path.is_file():
        raise RecallError(f"{path.name}: file not found")
    with db.write() as session:
        pid = resolve_practice_id(session, practice_id)
        catalogue = load_catalogue(session, pid)
        cluster, role, keys = resolve_cluster(catalogue, name)
        parsed = _read_cluster_file(path, cluster, role, catalogue.profile.generic_codes)
        t = codelist_entry_t
        replaced = (
            session.scalar(select(func.count()).select_from(t).where(t.c.cluster == cluster)) or 0
        )
        session.execute(delete(t).where(t.c.cluster == cluster))
        now = dt.datetime.now(dt.UTC)
        insert_many(
            session,
            t,
            [
                {
                    "cluster": cluster,
                    "code": code,
                    "term": term,
                    "source": path.name,
                    "imported_at": now,
                }
                for code, term in parsed.codes.items()
            ],
        )
        session.flush()
        append_audit(
            session,
            operator=operator,
            action="codes.import",
            practice_id=pid,
            details={
                "cluster": cluster,
                "role": role,
                "conditions": keys,
                "codes": len(parsed.codes),
                "replaced": int(replaced),
                "file": printable(mask_nhs_shaped(path.name)),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            },
        )
        after = load_catalogue(session, pid)
        return ClusterImportResult(
            cluster=cluster,
            role=role,
            conditions=keys,
            codes=len(parsed.codes),
            replaced=int(replaced),
            skipped_other_clusters=sorted(parsed.other_clusters),
            after=[condition_view(_condition(after, k), after) for k in keys],
        )


def _change(
    db: Database,
    key: str,
    operator: str | None,
    action: str,
    apply: Callable[[Catalogue, Condition, ConditionChoice], dict[str, object]],
    practice_id: int | None = None,
) -> ConditionCodes:
    operator = operator or current_operator()
    with db.write() as session:
        pid = resolve_practice_id(session, practice_id)
        catalogue = load_catalogue(session, pid)
        cond = _condition(catalogue, key)
        settings = get_settings(session, pid)
        choice = settings.conditions.setdefault(cond.key, ConditionChoice())
        details = apply(catalogue, cond, choice)
        save_settings(session, settings, operator=operator, practice_id=pid)
        append_audit(
            session,
            operator=operator,
            action=action,
            practice_id=pid,
            details={"condition": cond.key, **details},
        )
        after = load_catalogue(session, pid)
        return condition_view(_condition(after, cond.key), after)


def set_record_code(
    db: Database,
    condition: str,
    code: str,
    stage: int | None = None,
    operator: str | None = None,
    *,
    practice_id: int | None = None,
) -> ConditionCodes:
    """Pick the code recorded for a condition (optionally for one stage only)."""
    code = code.strip()
    if stage is not None and stage not in STAGES:
        raise RecallError("stage must be 1, 2 or 3")

    def apply(cat: Catalogue, cond: Condition, choice: ConditionChoice) -> dict[str, object]:
        cluster = import_name(cond) if cond.invite_cluster else f"{cond.key}'s invite list"
        if not cond.invite.codes:
            fix = cond.readiness(cat.profile).fix
            raise Refused(f"{cond.key} has no invite code list yet; first {fix}")
        if code in cat.profile.generic_codes:
            raise Refused(
                f"{code} is the generic QOF invite code, which does not count for one "
                f"condition: pick {cond.key}'s own code from {cluster}"
            )
        if code not in cond.invite:
            own = [
                f"{c} ({t})" if t else c
                for c, t in cond.invite.codes.items()
                if c not in cat.profile.generic_codes
            ][:6]
            raise Refused(f"{code} is not in {cluster}; codes there include: {'; '.join(own)}")
        if stage is None:
            choice.record_code = code
        else:
            choice.record_code_by_stage[str(stage)] = code
        return {"code": code, "stage": stage}

    return _change(db, condition, operator, "codes.set", apply, practice_id)


def enable_condition(
    db: Database,
    condition: str,
    *,
    provisional: bool = False,
    operator: str | None = None,
    practice_id: int | None = None,
) -> ConditionCodes:
    """Turn a condition on; a provisional code list needs the explicit --provisional."""

    def apply(cat: Catalogue, cond: Condition, choice: ConditionChoice) -> dict[str, object]:
        if not cond.invite.codes:
            r = cond.readiness(cat.profile)
            raise Refused(f"{cond.key} cannot be turned on: {r.reason}; {r.fix}")
        cluster = import_name(cond)
        if cond.provisional and not provisional:
            raise Refused(
                f"{cond.key}: code not verified against the official {cluster} file; import "
                f"that file to verify (recall codes import {cluster} FILE), or turn it on "
                f"anyway: recall codes enable {cond.key} --provisional"
            )
        choice.enabled = True
        return {"enabled": True, "provisional": cond.provisional}

    return _change(db, condition, operator, "codes.enable", apply, practice_id)


def disable_condition(
    db: Database,
    condition: str,
    operator: str | None = None,
    *,
    practice_id: int | None = None,
) -> ConditionCodes:
    """Turn a condition off: it is left out of every batch until turned on again."""

    def apply(cat: Catalogue, cond: Condition, choice: ConditionChoice) -> dict[str, object]:
        choice.enabled = False
        return {"enabled": False}

    return _change(db, condition, operator, "codes.disable", apply, practice_id)


def set_stage_code(
    db: Database,
    stage: int,
    code: str,
    term: str,
    operator: str | None = None,
    *,
    practice_id: int | None = None,
) -> StageCodeView:
    """Set the LTC invitation code for one stage in the practice's clinical-system profile."""
    operator = operator or current_operator()
    code, term = code.strip(), term.strip()
    if stage not in STAGES:
        raise RecallError("stage must be 1, 2 or 3")
    if not code or len(code) > MAX_CODE or any(ch.isspace() for ch in code):
        raise RecallError(f"{code!r} is not a clinical code")
    if code.isdigit() and not verhoeff_valid(code):
        raise RecallError(f"{code} is not a valid SNOMED CT identifier (check digit)")
    if not term:
        raise RecallError("give the code's term with --term, as the clinical system shows it")
    with db.write() as session:
        pid = resolve_practice_id(session, practice_id)
        catalogue = load_catalogue(session, pid)
        if code in catalogue.profile.generic_codes:
            raise Refused(f"{code} is the generic QOF invite code, not an LTC stage code")
        for other in STAGES:
            sc = catalogue.profile.stage_code(other)
            if other != stage and sc is not None and sc.code == code:
                raise Refused(f"{code} is already the stage {other} code")
        settings = get_settings(session, pid)
        settings.stage_codes[str(stage)] = {"code": code, "term": term}
        save_settings(session, settings, operator=operator, practice_id=pid)
        append_audit(
            session,
            operator=operator,
            action="codes.stage",
            practice_id=pid,
            details={"stage": stage, "code": code, "system": settings.clinical_system},
        )
    return StageCodeView(stage, code, term)
