"""CLI commands: `recall backfill plan` (dry run) and `recall backfill apply`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from recall.cli.common import (
    DbOption,
    ForceOption,
    JsonOption,
    echo,
    emit,
    parse_date,
    practice_database,
)
from recall.services.backfill import (
    PROBLEM_TEXT,
    BackfillApplyResult,
    BackfillPlanResult,
    apply_backfill,
    plan_backfill,
)

backfill_app = typer.Typer(
    help="Retrospective clean-up: add missing stage and condition codes on the original dates."
)

FromOption = Annotated[
    str | None,
    typer.Option("--from", help="First date to fix (YYYY-MM-DD); default 1 April this QOF year."),
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Last date to fix (YYYY-MM-DD); default today.")
]
WorksheetOption = Annotated[
    Path | None,
    typer.Option("--worksheet", help="Also write the coding worksheet CSV here."),
]
MAX_GROUP_LINES = 30


def plan_json(result: BackfillPlanResult) -> dict[str, Any]:
    """The `backfill plan` JSON document (formats.md shape plus extra keys)."""
    items = [
        {
            "nhs_number": i.nhs_number,
            "code": i.code,
            "date": i.date,
            "condition": i.condition,
            "reason": i.reason,
            "stage": i.stage,
            "term": i.term,
            "change": i.change,
        }
        for i in result.items
    ]
    return {
        "from": result.date_from,
        "to": result.date_to,
        "as_of": result.as_of,
        "qof_year": result.qof_year,
        "items": items,
        "groups": [dataclasses.asdict(g) for g in result.groups],
        "summary": dataclasses.asdict(result.summary),
        "blocked": [dataclasses.asdict(b) for b in result.blocked],
        "blocked_items": [dataclasses.asdict(b) for b in result.blocked_items],
        "cannot_fix": [dataclasses.asdict(f) for f in result.cannot_fix],
        "becomes_eligible": [dataclasses.asdict(e) for e in result.becomes_eligible],
    }


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def print_plan(result: BackfillPlanResult, *, applied: bool = False) -> None:
    """A summary a practice manager can act on (no NHS numbers: those are in the worksheet)."""
    s = result.summary
    head = "Backfill" if applied else "Backfill dry run"
    echo(
        f"{head} for QOF year {result.qof_year}: invitations dated {result.date_from} to "
        f"{result.date_to}."
    )
    if not applied:
        echo("Nothing has been changed. Run `recall backfill apply` to record these codes.")
    echo(f"Checked {_n(s.patients_checked, 'patient')} with invitation codes.")
    echo("")
    if not s.patients_checked:
        echo(
            "No invitation codes found in these dates: import the clinical system's events "
            "first (recall import events FILE)."
        )
    elif not s.items:
        echo(
            "Nothing to add: every invitation in these dates already has its stage code and "
            "the codes of the conditions that are set up."
        )
    else:
        echo(
            f"Step 1  generic QOF invite without an LTC stage code: "
            f"{_n(s.stage_codes, 'stage code')} to add"
        )
        echo(
            f"Step 2  LTC stage code without the condition's invite code: "
            f"{_n(s.condition_codes, 'condition code')} to add"
        )
        for key, count in s.by_condition.items():
            echo(f"          {key:<6} {count:>7,}")
        echo(f"Patients: {s.patients_with_items:,}; all codes keep the original invitation date.")
        echo("")
        if s.becomes_eligible:
            per = ", ".join(f"{k} {v:,}" for k, v in s.becomes_eligible_by_condition.items())
            echo(
                f"Become eligible for a PCA exception (invited twice, 7+ days apart): "
                f"{_n(s.becomes_eligible_patients, 'patient')} ({per})"
            )
        else:
            echo("No patient becomes eligible for a PCA exception from this clean-up.")
        changed = {k: v for k, v in s.eligible_after.items() if v != s.eligible_before.get(k, 0)}
        if changed:
            now = ", ".join(
                f"{k} {s.eligible_before.get(k, 0):,} -> {v:,}" for k, v in changed.items()
            )
            echo(f"PCA-eligible on {result.as_of}, now -> after: {now}")
        echo("")
        echo(
            f"Coding groups ({_n(s.groups, 'bulk-add')} in the clinical system, by date and code):"
        )
        for g in result.groups[:MAX_GROUP_LINES]:
            echo(f"  {g.date}  {g.code:<18} {_n(g.count, 'patient'):>14}  {g.term[:50]}")
        if len(result.groups) > MAX_GROUP_LINES:
            rest = len(result.groups) - MAX_GROUP_LINES
            echo(f"  ... and {rest:,} more (see --json, or the worksheet after apply)")
    if result.blocked:
        echo("")
        echo("Blocked (set these up first; nothing is added for them):")
        for b in result.blocked:
            echo(f"  {b.name}: {_n(b.codes, 'code')} for {_n(b.patients, 'patient')}: {b.why}")
            if b.fix:
                echo(f"    fix: {b.fix}")
    if result.cannot_fix:
        echo("")
        echo("Backfill cannot fix these (for information; see --json for who):")
        patients: dict[str, set[str]] = {}
        for f in result.cannot_fix:
            patients.setdefault(f.problem, set()).add(f.nhs_number)
        for problem, who in sorted(patients.items()):
            text = next((t for p, t in PROBLEM_TEXT.items() if p == problem), problem)
            echo(f"  {_n(len(who), 'patient'):>14}  {text}")


def print_applied(result: BackfillApplyResult) -> None:
    print_plan(result.plan, applied=True)
    echo("")
    if result.run_id is None:
        echo("Nothing recorded.")
    else:
        echo(f"Recorded {_n(result.recorded, 'code')} (backfill run {result.run_id}).")
    if result.still_missing:
        echo(f"Backfill codes still to add in the clinical system: {result.still_missing:,}")
    if result.worksheet is not None:
        echo(f"Coding worksheet: {result.worksheet}")
    for note in result.notes:
        echo(note[:1].upper() + note[1:] + ".")


@backfill_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    date_from: FromOption = None,
    date_to: ToOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Dry run: which codes backfill would add, grouped by date and code. Changes nothing."""
    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    with practice_database(ctx, db, as_json) as (database, pid):
        result = plan_backfill(database, start, end, practice_id=pid)
    emit(plan_json(result), as_json, lambda: print_plan(result))


@backfill_app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    date_from: FromOption = None,
    date_to: ToOption = None,
    as_json: JsonOption = False,
    worksheet: WorksheetOption = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Record the planned codes (origin backfill) in one step; a second run adds nothing."""
    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    with practice_database(ctx, db, as_json) as (database, pid):
        result = apply_backfill(
            database, start, end, worksheet=worksheet, force=force, practice_id=pid
        )
    doc = plan_json(result.plan)
    doc.update(
        run_id=result.run_id,
        recorded=result.recorded,
        still_missing=result.still_missing,
        worksheet=str(result.worksheet) if result.worksheet else None,
        notes=result.notes,
    )
    emit(doc, as_json, lambda: print_applied(result))


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(backfill_app, name="backfill")
