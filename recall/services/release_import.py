"""Import the official UK Primary Care SNOMED release: every cluster the catalogue names.

One command replaces the shipped and provisional lists with the release's active members, so
a practice verifies its code lists against the official source in one step. The whole folder
is read and checked before anything is written; one transaction, one audit entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select

from recall.domain.free_text import mask_nhs_shaped
from recall.domain.text import printable
from recall.importers.release import ReleaseError, read_release
from recall.services.catalogue import cluster_table, load_catalogue
from recall.services.codes import ConditionCodes, catalogue_clusters, condition_view
from recall.services.errors import RecallError, Refused
from recall.services.infra.operator import current_operator
from recall.services.practice_scope import resolve_practice_id
from recall.store.audit_repo import append_audit
from recall.store.bulk import insert_many
from recall.store.db import Database
from recall.store.models import codelist_entry_t


@dataclass
class ReleaseCluster:
    cluster: str
    refset: str
    role: str
    conditions: list[str]
    codes: int
    replaced: int


@dataclass
class ReleaseImportResult:
    folder: str
    refset_files: list[str]
    description_files: list[str]
    imported: list[ReleaseCluster]
    not_in_release: list[str]  # clusters with a refset id the release does not hold
    became_ready: list[str]  # conditions that can now be coded
    verified: list[str]  # conditions whose provisional list the official one replaced
    after: list[ConditionCodes] = field(default_factory=list)


def import_release(
    db: Database, folder: str | Path, operator: str | None = None, *, practice_id: int | None = None
) -> ReleaseImportResult:
    """Read an RF2 release folder and replace every named cluster's list with its members."""
    operator = operator or current_operator()
    path = Path(folder)
    table = cluster_table()
    with db.write() as session:
        pid = resolve_practice_id(session, practice_id)
        before = load_catalogue(session, pid)
        named = catalogue_clusters(before)
        wanted = {table[c].refset: c for c in named if c in table and table[c].refset}
        try:
            release = read_release(path, wanted)
        except ReleaseError as exc:
            raise RecallError(f"nothing was imported: {exc}") from None
        generic = before.profile.generic_codes
        found: list[ReleaseCluster] = []
        rows: list[dict[str, object]] = []
        now = dt.datetime.now(dt.UTC)
        t = codelist_entry_t
        for refset, cluster in sorted(wanted.items(), key=lambda kv: kv[1]):
            codes = release.members.get(refset)
            if not codes:
                continue
            role, keys = named[cluster]
            if role == "invite" and not any(c not in generic for c in codes):
                raise Refused(
                    f"nothing was imported: refset {refset} ({cluster}) holds only the generic "
                    "QOF invite code in this release"
                )
            replaced = (
                session.scalar(select(func.count()).select_from(t).where(t.c.cluster == cluster))
                or 0
            )
            found.append(ReleaseCluster(cluster, refset, role, keys, len(codes), int(replaced)))
            source = printable(mask_nhs_shaped(f"{path.name}: {release.refset_files[0]}"))[:200]
            rows.extend(
                {"cluster": cluster, "code": c, "term": term, "source": source, "imported_at": now}
                for c, term in codes.items()
            )
        if not found:
            raise RecallError(
                f"{path.name}: none of the catalogue's {len(wanted)} clusters is in this release "
                f"({', '.join(release.refset_files)}): is it the UK Primary Care release?"
            )
        session.execute(delete(t).where(t.c.cluster.in_([f.cluster for f in found])))
        insert_many(session, t, rows)
        session.flush()
        after = load_catalogue(session, pid)
        was = {c.key: c.readiness(before.profile) for c in before}
        now_ready = {c.key: c.readiness(after.profile) for c in after}
        became = [k for k, r in now_ready.items() if r.ready and not was[k].ready]
        verified = [
            c.key for c in before if c.provisional and not after.conditions[c.key].provisional
        ]
        append_audit(
            session,
            operator=operator,
            action="codes.import_release",
            practice_id=pid,
            details={
                "folder": printable(mask_nhs_shaped(path.name)),
                "files": release.refset_files[:5],
                "clusters": {f.cluster: f.codes for f in found},
                "became_ready": became,
                "verified": verified,
            },
        )
        return ReleaseImportResult(
            folder=path.name,
            refset_files=release.refset_files,
            description_files=release.description_files,
            imported=found,
            not_in_release=sorted(c for r, c in wanted.items() if r not in release.members),
            became_ready=became,
            verified=verified,
            after=[condition_view(c, after) for c in after],
        )
