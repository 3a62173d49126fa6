"""Which codes a confirm records: the stage code of the letter's highest stage, each kept
condition's record code at its own stage, the generic code when the practice asks; nothing
already on that day. The confirm screen shows exactly this list before anything is written."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from recall.domain.catalogue import Catalogue
from recall.domain.invitations import InvitationStatus
from recall.services.batches.cohort import blocked_conditions
from recall.services.batches.judge import Outcome, judge_all
from recall.services.batches.model import CodeLine
from recall.services.batches.read import load_plan
from recall.services.errors import NotFound, Problem, Refused
from recall.services.settings import get_settings
from recall.store import batches_repo as repo
from recall.store.db import Database
from recall.store.models import utcnow


def record_codes(
    catalogue: Catalogue, out: Outcome, day: dt.date, *, strict: bool = True
) -> dict[tuple[str, int], tuple[str, str]]:
    """Each (condition, stage) code to record on `day`, or Refused naming what to configure.
    A condition whose QOF year needs no invite code (depression and cancer from 2025/26) is
    invited but records none, and is never a reason to refuse."""
    problems: list[Problem] = []
    stages = {max(u.stage for u in kept) for _x, kept, _w in out.keep}
    for stage in sorted(stages):
        if catalogue.profile.stage_code(stage) is None:
            problems.append(
                Problem(
                    f"the {catalogue.profile.name} profile has no LTC stage code for stage {stage}",
                    fix="recall codes stage N CODE --term TEXT",
                )
            )
    record: dict[tuple[str, int], tuple[str, str]] = {}
    blocked = blocked_conditions(catalogue)
    for key, stage in sorted({(u.condition, u.stage) for _x, kept, _w in out.keep for u in kept}):
        if not catalogue.invite_code_needed(key, day):
            continue  # invited as good care: that QOF year needs no code for it
        cond = catalogue.get(key)
        code = cond.record_code_for(stage) if cond is not None else None
        if cond is None or key in blocked or not code:
            r = cond.readiness(catalogue.profile) if cond is not None else None
            problems.append(
                Problem(
                    r.reason if r else "not in the catalogue", condition=key, fix=r.fix if r else ""
                )
            )
            continue
        record[(key, stage)] = (code, cond.invite.term(code))
    if problems and strict:
        first = problems[0]
        raise Refused(
            "cannot confirm: "
            + "; ".join(f"{p.condition or 'stage code'}: {p.reason}" for p in problems)
            + (f" (fix: {first.fix})" if first.fix else ""),
            problems,
        )
    return record


def code_rows(
    session: Session,
    b: Any,
    day: dt.date,
    catalogue: Catalogue,
    record: dict[tuple[str, int], tuple[str, str]],
    out: Outcome,
) -> tuple[list[CodeLine], list[dict[str, Any]]]:
    """(code lines for every kept invitee, rows newly to record); conditions without a
    record code (only when not strict) are left out."""
    settings = get_settings(session, b.practice_id)
    generic = catalogue.profile.generic_record_code if settings.record_generic else None
    existing = repo.codes_on(session, day, {x.patient_id for x, _k, _w in out.keep})
    now = utcnow()
    rows: list[dict[str, Any]] = []
    lines: list[CodeLine] = []
    for x, kept, _warn in out.keep:
        letter = max(u.stage for u in kept)
        sc = catalogue.profile.stage_code(letter)
        todo: list[tuple[str, str, str | None, int]] = (
            [(sc.code, sc.term, None, letter)] if sc is not None else []
        )
        # a condition code already keyed in for that day is this invitation: nothing to add
        todo += [
            (*record[(u.condition, u.stage)], u.condition, u.stage)
            for u in kept
            if not u.coded_already and (u.condition, u.stage) in record
        ]
        if generic is not None:
            todo.append((generic.code, generic.term, None, letter))
        for code, term, cond, stage in todo:
            lines.append(
                CodeLine(
                    x.patient_id,
                    x.nhs_number,
                    x.given_name,
                    x.family_name,
                    code,
                    term,
                    day,
                    cond,
                    stage,
                )
            )
            if (x.patient_id, code) in existing:
                continue  # already there on that day: the same invitation, nothing to add
            existing.add((x.patient_id, code))
            rows.append(
                {
                    "patient_id": x.patient_id,
                    "code": code,
                    "term": term,
                    "date": day,
                    "condition": cond,
                    "stage": stage,
                    "origin": "send",
                    "invitation_id": x.invitation_id,
                    "batch_id": b.id,
                    "practice_id": b.practice_id,
                    "reconciled": False,
                    "voided": False,
                    "created_at": now,
                }
            )
    return lines, rows


def preview_codes(
    db: Database,
    batch_id: int,
    sent_on: dt.date | None = None,
    *,
    leave_out: frozenset[int] = frozenset(),
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """What confirming on `sent_on` would record (nothing is written): the new code rows, and
    per condition how many invitees it could not be coded for (no record code yet)."""
    with db.read() as session:
        b = repo.batch_row(session, batch_id)
        if b is None:
            raise NotFound(f"no batch {batch_id}")
        day = sent_on or b.planned_send_date
        invited = [
            x
            for x in load_plan(session, batch_id).invitations
            if x.status == InvitationStatus.PLANNED and x.patient_id not in leave_out
        ]
        out, catalogue = judge_all(session, b, invited, day, sending=True)
        record = record_codes(catalogue, out, day, strict=False)
        _lines, rows = code_rows(session, b, day, catalogue, record, out)
    missing = Counter(
        u.condition
        for _x, kept, _w in out.keep
        for u in kept
        if (u.condition, u.stage) not in record and catalogue.invite_code_needed(u.condition, day)
    )
    return rows, missing
