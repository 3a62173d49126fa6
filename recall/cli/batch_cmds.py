"""CLI commands: `recall batch ...` (plan, confirm, void, list, show, exclude, include)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from recall.cli.common import DbOption, JsonOption, echo, emit, parse_date, practice_database
from recall.domain.nhs import format_nhs_number, normalise_nhs_number
from recall.services.batches import (
    BatchInfo,
    BatchPlan,
    ConfirmResult,
    as_made_note,
    confirm_batch,
    get_batch,
    list_batches,
    plan_batch,
    set_excluded,
    void_batch,
)
from recall.services.errors import NotFound

batch_app = typer.Typer(help="Monthly invitation batches: plan, letters, confirm, void, list.")

ORDINAL = {1: "1st", 2: "2nd", 3: "3rd"}
MAX_ROWS = 60


# ----------------------------------------------------------------------------- JSON shapes


def batch_json(b: BatchInfo) -> dict[str, Any]:
    return {
        "id": b.id,
        "kind": b.kind,
        "stage": b.stage,
        "month": b.month,
        "status": b.status,
        "qof_year": b.qof_year,
        "planned_send_date": b.planned_send_date.isoformat(),
        "sent_on": b.sent_on.isoformat() if b.sent_on else None,
        "invited": b.invited,
        "excluded": b.excluded,
        "created_by": b.created_by,
        "confirmed_by": b.confirmed_by,
        "void_reason": b.void_reason,
        "letters_made_on": b.letters_made_on.isoformat() if b.letters_made_on else None,
    }


def plan_json(plan: BatchPlan) -> dict[str, Any]:
    """The `batch plan` document of formats.md, with extra keys."""
    return {
        "batch": batch_json(plan.batch),
        "invitations": [
            {
                "nhs_number": x.nhs_number,
                "patient_id": x.patient_id,
                "family_name": x.family_name,
                "given_name": x.given_name,
                "age": x.age,
                "conditions": list(x.conditions),
                "channel": x.channel,
                "needs": list(x.needs),
                "flags": list(x.flags),
                "status": x.status,
                "warning": x.warning,
            }
            for x in plan.invitations
        ],
        "excluded": [
            {
                "nhs_number": e.nhs_number,
                "patient_id": e.patient_id,
                "reason": e.reason,
                "by_staff": e.by_staff,
                "conditions": list(e.conditions),
                "waiting_until": e.waiting_until.isoformat() if e.waiting_until else None,
            }
            for e in plan.excluded
        ],
        # a confirmed batch: the warnings confirm accepted it with, exactly as it printed them
        "warnings": plan.warnings or confirmed_warnings(plan),
        "confirm_warnings": confirmed_warnings(plan),
    }


def confirmed_warnings(plan: BatchPlan) -> list[Any]:
    """Confirm's warnings, rebuilt from the invitations (empty until the batch is confirmed)."""
    return [w for x in plan.invitations for w in x.confirm_warnings()]


def confirm_json(result: ConfirmResult) -> dict[str, Any]:
    """The `batch confirm` document of formats.md, with extra keys."""
    return {
        "batch": batch_json(result.batch),
        "codes": [
            {
                "nhs_number": c.nhs_number,
                "code": c.code,
                "term": c.term,
                "date": c.date.isoformat(),
                "condition": c.condition,
                "stage": c.stage,
            }
            for c in result.codes
        ],
        "warnings": result.warnings,
        "dropped": [
            {"nhs_number": d.nhs_number, "reason": d.reason, "by_staff": d.by_staff}
            for d in result.dropped
        ],
        "take_out": result.take_out,
    }


# ----------------------------------------------------------------------------- human output


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _head(b: BatchInfo) -> str:
    what = "ad-hoc" if b.kind == "adhoc" else f"recall month {b.month}"
    when = f"sent {b.sent_on}" if b.sent_on else f"to send {b.planned_send_date}"
    return f"Batch {b.id}: {ORDINAL.get(b.stage, b.stage)} invitations, {what}, {when} [{b.status}]"


def print_plan(plan: BatchPlan) -> None:
    echo(_head(plan.batch))
    echo(f"{len(plan.invitations)} to invite, {len(plan.excluded)} left out.")
    note = as_made_note(plan.batch)
    if note:
        echo(f"  {note}")
    blocked = sorted({w.split(":", 1)[0] for w in plan.warnings})
    if blocked:
        echo(
            f"  Not invited for {', '.join(blocked)}: their codes are not set up "
            "(see recall codes)."
        )
    if plan.invitations:
        echo("")
        echo(f"  {'NHS number':<13} {'Name':<28} {'Age':>3}  {'Conditions':<18} Channel")
        for x in plan.invitations[:MAX_ROWS]:
            extra = f"  ({', '.join(x.flags)})" if x.flags else ""
            echo(
                f"  {format_nhs_number(x.nhs_number):<13} {x.name[:28]:<28} {x.age:>3}  "
                f"{', '.join(x.conditions)[:18]:<18} {x.channel}{extra}"
            )
        if len(plan.invitations) > MAX_ROWS:
            echo(f"  ... and {len(plan.invitations) - MAX_ROWS} more (use --json)")
    if plan.excluded:
        echo("")
        echo("Left out:")
        for e in plan.excluded[:MAX_ROWS]:
            echo(f"  {format_nhs_number(e.nhs_number):<13} {e.name[:28]:<28} {e.reason}")
        if len(plan.excluded) > MAX_ROWS:
            echo(f"  ... and {len(plan.excluded) - MAX_ROWS} more (use --json)")
    if plan.batch.status == "planned":
        echo("")
        echo(
            f"Next: recall batch letters {plan.batch.id}, then after posting: "
            f"recall batch confirm {plan.batch.id} --sent-on YYYY-MM-DD"
        )


def print_confirm(result: ConfirmResult) -> None:
    echo(_head(result.batch))
    patients = len({c.patient_id for c in result.codes})
    echo(
        f"Recorded {_n(len(result.codes), 'code')} for {_n(patients, 'patient')}, "
        f"dated {result.batch.sent_on}."
    )
    for w in result.warnings:
        echo(f"  warning: {format_nhs_number(w['nhs_number'])} {w['reason']}")
    for d in result.dropped:
        echo(f"  not sent: {format_nhs_number(d.nhs_number)} {d.name}: {d.reason}")
    if result.take_out:
        echo("Made but not recorded, so keep these out of the post:")
        for t in result.take_out:
            echo(f"  {t}")
    echo(
        f"Next: add the codes in the clinical system (recall export worksheet "
        f"{result.batch.id} --out worksheet.csv), then re-import events and run recall reconcile."
    )


# ----------------------------------------------------------------------------- commands

StageOption = Annotated[int, typer.Option("--stage", min=1, max=3, help="1, 2 or 3.")]


@batch_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    stage: StageOption,
    month: Annotated[str, typer.Option("--month", help="Recall month (cohort), YYYY-MM.")],
    send_date: Annotated[
        str | None, typer.Option("--send-date", help="Planned send date (default today).")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Plan (or re-plan) who gets this stage's invitation for a recall month."""
    send = parse_date(send_date, "--send-date")
    with practice_database(ctx, db, as_json) as (database, pid):
        plan = plan_batch(database, stage, month, send, practice_id=pid)
    emit(plan_json(plan), as_json, lambda: print_plan(plan))


@batch_app.command("confirm")
def confirm_cmd(
    ctx: typer.Context,
    batch_id: int,
    sent_on: Annotated[
        str | None, typer.Option("--sent-on", help="Day the invitations went out.")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="NHS number to leave out (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Confirm the batch was sent: record the stage and condition codes dated --sent-on."""
    day = parse_date(sent_on, "--sent-on")
    with practice_database(ctx, db, as_json, batch_id=batch_id) as (database, _pid):
        result = confirm_batch(database, batch_id, day, exclude=exclude or [])
    emit(confirm_json(result), as_json, lambda: print_confirm(result))


@batch_app.command("void")
def void_cmd(
    ctx: typer.Context,
    batch_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Void a planned or sent batch; its codes stop counting (enter none of them)."""
    with practice_database(ctx, db, batch_id=batch_id) as (database, _pid):
        info = void_batch(database, batch_id, reason)
    emit(
        {"batch": batch_json(info)},
        as_json,
        lambda: echo(f"{_head(info)}: voided ({info.void_reason})."),
    )


@batch_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="planned, sent or void.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List batches, newest first."""
    with practice_database(ctx, db) as (database, pid):
        batches = list_batches(database, status=status, practice_id=pid)

    def human() -> None:
        if not batches:
            echo("No batches yet. Start with: recall batch plan --stage 1 --month YYYY-MM")
        for b in batches:
            echo(f"{_head(b)}: {b.invited} invited, {b.excluded} left out")

    emit({"batches": [batch_json(b) for b in batches]}, as_json, human)


@batch_app.command("show")
def show_cmd(
    ctx: typer.Context, batch_id: int, as_json: JsonOption = False, db: DbOption = None
) -> None:
    """Show a batch with its invitations and who was left out."""
    with practice_database(ctx, db, batch_id=batch_id) as (database, _pid):
        plan = get_batch(database, batch_id)
    emit(plan_json(plan), as_json, lambda: print_plan(plan))


def _toggle(
    ctx: typer.Context,
    batch_id: int,
    nhs: str,
    excluded: bool,
    reason: str,
    as_json: bool,
    db: str | None,
) -> None:
    digits = normalise_nhs_number(nhs)
    with practice_database(ctx, db, as_json, batch_id=batch_id) as (database, _pid):
        plan = get_batch(database, batch_id)
        ids = {x.nhs_number: x.patient_id for x in plan.invitations}
        ids.update({e.nhs_number: e.patient_id for e in plan.excluded})
        if digits not in ids:
            raise NotFound(f"that patient is not in batch {batch_id}")
        plan = set_excluded(database, batch_id, ids[digits], excluded, reason)
    emit(plan_json(plan), as_json, lambda: print_plan(plan))


@batch_app.command("exclude")
def exclude_cmd(
    ctx: typer.Context,
    batch_id: int,
    nhs_number: str,
    reason: Annotated[str, typer.Option("--reason", help="Why they are left out.")] = "",
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Leave a patient out of a planned batch."""
    _toggle(ctx, batch_id, nhs_number, True, reason, as_json, db)


@batch_app.command("include")
def include_cmd(
    ctx: typer.Context,
    batch_id: int,
    nhs_number: str,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Put a patient staff left out back into a planned batch."""
    _toggle(ctx, batch_id, nhs_number, False, "", as_json, db)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(batch_app, name="batch")
