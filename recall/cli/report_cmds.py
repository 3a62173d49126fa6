"""CLI commands: `recall pca`, `recall patient`, `recall invite`, `recall respond`,
`recall export worksheet` and `recall reconcile`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from recall.cli.batch_cmds import StageOption, confirm_json, print_confirm
from recall.cli.common import (
    DbOption,
    ForceOption,
    JsonOption,
    echo,
    emit,
    parse_date,
    plural,
    practice_database,
)
from recall.domain.nhs import format_nhs_number
from recall.domain.pca import STATUS_ORDER, PcaStatus
from recall.services.batches import invite_patient
from recall.services.patients import mark_response, patient_view
from recall.services.pca_report import PcaReport, pca_report
from recall.services.reconcile import reconcile
from recall.services.worksheet import export_worksheet

export_app = typer.Typer(help="Export files for the clinical system.")

AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Date to report on (default today).")
]


def print_pca(report: PcaReport) -> None:
    echo(
        f"PCA status on {report.as_of} (QOF year {report.qof_year}, "
        f"{report.days_left} days to 31 March)"
    )
    heads = ["register", *(s.value for s in STATUS_ORDER), "need 2nd"]
    short = {
        "register": "Register",
        "achieved": "Reviewed",
        "pca_eligible": "Eligible",
        "invalid_interval": "<7 days",
        "invited_once": "Once",
        "generic_only": "Generic",
        "not_invited": "None",
        "need 2nd": "Need 2nd",
    }
    echo(f"{'':<6}" + "".join(f"{short[h]:>10}" for h in heads))
    for key, c in report.conditions.items():
        values: list[int | str] = [
            c.register,
            *(c.counts[s.value] for s in STATUS_ORDER),
            c.need_second_by_year_end,
        ]
        if not c.second_letter_counts:  # nobody can be excepted: say so, not a count
            values[1 + STATUS_ORDER.index(PcaStatus.PCA_ELIGIBLE)] = "n/a"
            values[-1] = "n/a"
        note = "" if c.ready else f"  (not yet codeable: {c.readiness_reason})"
        echo(
            f"{key:<6}"
            + "".join(f"{v:>10,}" if isinstance(v, int) else f"{v:>10}" for v in values)
            + note
        )
    for key, c in report.conditions.items():
        if c.out_of_target:
            echo(
                f"{key}: {c.out_of_target:,} with the latest reading out of target (still due; "
                "invitations before that reading do not count)"
            )
        if not c.pca_applies:
            echo(f"{key}: {c.qof_note}")
    echo("")
    echo(
        "Eligible = invited twice 7+ days apart (can be excepted; n/a where PCA does not "
        "apply this year or the condition is not yet codeable: there a 2nd letter excepts "
        "nobody, so Need 2nd is n/a too); Generic = invited with the generic or LTC code only "
        "(fix with recall backfill)."
    )
    echo(
        f"{report.need_second_by_year_end:,} patient-conditions need a 2nd invitation by "
        f"{report.year_end} to become eligible."
    )
    waiting = {k: c.need_second_when_codeable for k, c in report.conditions.items()}
    if sum(waiting.values()):
        keys = ", ".join(k for k, n in waiting.items() if n)
        echo(
            f"Not counted: {sum(waiting.values()):,} invited once for conditions not yet "
            f"codeable ({keys}); they would need one once the condition can be coded."
        )


def pca_cmd(
    ctx: typer.Context, as_of: AsOfOption = None, as_json: JsonOption = False, db: DbOption = None
) -> None:
    """PCA status counts per condition: reviewed, eligible for exception, invited once, ..."""
    day = parse_date(as_of, "--as-of")
    with practice_database(ctx, db) as (database, pid):
        report = pca_report(database, day, practice_id=pid)
    emit(report.as_json(), as_json, lambda: print_pca(report))


def patient_cmd(
    ctx: typer.Context,
    nhs_number: str,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """One patient's conditions, this year's coded timeline and PCA status per condition."""
    day = parse_date(as_of, "--as-of")
    with practice_database(ctx, db) as (database, pid):
        view = patient_view(database, nhs_number, day, practice_id=pid)

    def human() -> None:
        echo(
            f"{view.given_name} {view.family_name}, NHS {format_nhs_number(view.nhs_number)}, "
            f"born {view.date_of_birth} (age {view.age}), recall month {view.recall_month}"
        )
        if not view.alive_and_registered:
            echo("  Not alive and registered on this date: not invited.")
        echo(f"QOF year {view.qof_year}, as of {view.as_of}:")
        for key, s in view.status.items():
            extra = ""
            if s.earliest_second and s.status in ("invited_once", "invalid_interval"):
                extra = f"; 2nd can go from {s.earliest_second}"
            if s.response:
                extra += f"; {s.response}"
            if not s.ready:
                extra += f"; {s.readiness}"
            echo(f"  {key:<5} {s.plain}{extra}")
            if s.care:
                echo(f"        {s.care}")
            if s.not_counted:
                days = ", ".join(d.isoformat() for d in s.not_counted)
                echo(f"        not counted (before that reading): {days}")
        echo("Timeline this year:")
        for e in view.events:
            if e.in_year:
                echo(f"  {e.date}  {e.code:<18} {e.origin:<8} {e.meaning or e.term}")

    emit(view.as_json(), as_json, human)


def invite_cmd(
    ctx: typer.Context,
    nhs_number: str,
    stage: StageOption,
    sent_on: Annotated[
        str | None, typer.Option("--sent-on", help="Day it was sent (default today).")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Ad-hoc invitation for one patient now: a one-patient batch, planned and confirmed."""
    day = parse_date(sent_on, "--sent-on")
    with practice_database(ctx, db, as_json) as (database, pid):
        result = invite_patient(database, nhs_number, stage, day, practice_id=pid)
    emit(confirm_json(result), as_json, lambda: print_confirm(result))


def respond_cmd(
    ctx: typer.Context,
    nhs_number: str,
    condition: str,
    kind: Annotated[str, typer.Option("--kind", help="booked or responded.")] = "booked",
    on: Annotated[str | None, typer.Option("--on", help="Date (default today).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Mark that a patient booked or responded for a condition: no more invitations for it."""
    day = parse_date(on, "--on") or dt.date.today()
    with practice_database(ctx, db) as (database, pid):
        view = patient_view(database, nhs_number, day, practice_id=pid)
        added = mark_response(database, view.patient_id, condition, kind, day, practice_id=pid)
    doc: dict[str, Any] = {
        "nhs_number": view.nhs_number,
        "condition": condition.upper(),
        "kind": kind,
        "on": day.isoformat(),
        "added": added,
    }
    emit(
        doc,
        as_json,
        lambda: echo(
            f"Marked {condition.upper()} {kind} on {day}." if added else "Already marked."
        ),
    )


@export_app.command("worksheet")
def worksheet_cmd(
    ctx: typer.Context,
    batch_id: int,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (0600).")],
    docx: Annotated[
        Path | None, typer.Option("--docx", help="Also write a printable .docx here.")
    ] = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The coding worksheet for a batch: codes grouped by date and code, for bulk-adding."""
    with practice_database(ctx, db, batch_id=batch_id) as (database, _pid):
        files = export_worksheet(database, batch_id, out, docx=docx, force=force)
    doc = {
        "csv": str(files.csv) if files.csv else None,
        "docx": str(files.docx) if files.docx else None,
        "rows": files.rows,
        "groups": [
            {"date": g.date.isoformat(), "code": g.code, "term": g.term, "count": g.count}
            for g in files.groups
        ],
    }

    def human() -> None:
        echo(f"Wrote {files.rows} rows in {len(files.groups)} groups to {files.csv or files.docx}.")
        for g in files.groups:
            echo(f"  {g.date}  {g.code:<18} {g.count:>5}  {g.term}")

    emit(doc, as_json, human)


def reconcile_cmd(
    ctx: typer.Context,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Match recorded codes against imported events; list those still missing there."""
    with practice_database(ctx, db) as (database, pid):
        result = reconcile(database, practice_id=pid)
    doc = {
        "matched_now": result.matched_now,
        "reconciled": result.reconciled_total,
        "missing": [
            {
                "nhs_number": m.nhs_number,
                "code": m.code,
                "term": m.term,
                "date": m.date.isoformat(),
                "condition": m.condition,
                "origin": m.origin,
                "batch_id": m.batch_id,
                "backfill_run_id": m.backfill_run_id,
            }
            for m in result.missing
        ],
    }

    def human() -> None:
        echo(
            f"{plural(result.matched_now, 'code')} newly found in the clinical system "
            f"({result.reconciled_total} in all)."
        )
        if not result.missing:
            echo("Nothing missing.")
            return
        echo(f"{plural(len(result.missing), 'code')} still missing there:")
        for m in result.missing[:100]:
            echo(
                f"  {m.date}  {m.code:<18} {format_nhs_number(m.nhs_number)} "
                f"{m.family_name}, {m.given_name}  {m.condition or ''}"
            )
        if len(result.missing) > 100:
            echo(f"  ... and {len(result.missing) - 100} more (use --json)")

    emit(doc, as_json, human)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("pca")(pca_cmd)
    app.command("patient")(patient_cmd)
    app.command("invite")(invite_cmd)
    app.command("respond")(respond_cmd)
    app.command("reconcile")(reconcile_cmd)
    app.add_typer(export_app, name="export")
