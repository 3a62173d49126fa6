"""CLI commands: `recall init`, `recall import`, `recall demo`, `recall codes ...`."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recall.cli.common import (
    DbOption,
    JsonOption,
    chosen_practice,
    db_url,
    echo,
    emit,
    open_database,
    parse_date,
    practice_ods,
)
from recall.services.errors import Refused
from recall.services.practices import choose_practice

if TYPE_CHECKING:
    from recall.services.codes import ConditionCodes


class Kind(StrEnum):
    patients = "patients"
    registers = "registers"
    events = "events"


def _refused(exc: Refused) -> None:
    """One summary line, then each problem on its own line, then a non-zero exit."""
    echo(f"recall: {exc}", err=True)
    lines = getattr(exc, "lines", None)
    if lines is None:
        lines = [
            " ".join(v for v in (p.get("nhs_number", ""), p.get("reason", "")) if v) or str(p)
            for p in exc.problems
        ]
    if len(lines) > 1:
        for line in lines:
            echo(f"  {line}", err=True)
    raise typer.Exit(2)


def init_cmd(ctx: typer.Context, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Create (or upgrade) the database and show what it holds."""
    from recall.services.imports import database_counts

    database = open_database(db_url(ctx, db))
    try:
        info = database_counts(database)
    finally:
        database.dispose()

    def human() -> None:
        echo(f"Database ready: {info.url}")
        echo(f"{info.patients} patients, {info.registers} register entries, {info.events} events")
        if not info.patients:
            echo("Next: recall import patients FILE (or try: recall demo)")

    emit(info, json_out, human)


def import_cmd(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="The CSV file.")],
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", help="Column mapping: systmone, emis, or a .toml file."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Check the file and count, but import nothing.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Registers: the file is the whole register; mark anyone left out resolved.",
        ),
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import a patients, registers or events CSV (all-or-nothing)."""
    from recall.services.imports import import_file

    show_progress = not json_out and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress:
            # our own digits and a carriage return: nothing stored reaches this line
            typer.echo(f"\r  {done:,} of about {total:,} rows", err=True, nl=False)

    database = open_database(db_url(ctx, db))
    try:
        chosen = practice_ods(ctx)
        pid = choose_practice(database, chosen).id if chosen else None
        result = import_file(
            database,
            kind.value,
            file,
            mapping,
            progress=progress,
            dry_run=check,
            full=full,
            practice_id=pid,
        )
    except Refused as exc:
        if show_progress:
            echo("", err=True)
        _refused(exc)
        return
    finally:
        database.dispose()
    if show_progress:
        echo("", err=True)

    def human() -> None:
        if result.dry_run:
            echo("Checked only: nothing was imported. Without --check this would give:")
        echo(
            f"{result.file}: {result.rows_read} rows read, {result.added} added, "
            f"{result.updated} updated, {result.skipped} already there "
            f"(mapping {result.mapping}, header on line {result.header_line})"
        )
        if result.resolved:
            echo(f"{result.resolved} register entries not in the file marked resolved")
        if result.warning_count:
            echo(f"{result.warning_count} warning(s):")
            for line in result.warnings:
                echo(f"  {line}")

    emit(result, json_out, human)


def demo_cmd(
    ctx: typer.Context,
    patients: Annotated[int, typer.Option("--patients", help="How many patients.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same practice.")] = 2026,
    no_tui: Annotated[bool, typer.Option("--no-tui", help="Build it, do not open the UI.")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Rebuild a demo database given with --db.")
    ] = False,
    today: Annotated[
        str | None, typer.Option("--today", help="Build as if today were YYYY-MM-DD.")
    ] = None,
    path: Annotated[
        bool, typer.Option("--path", help="Print where the demo database is, and stop.")
    ] = False,
    pcn: Annotated[
        bool,
        typer.Option(
            "--pcn",
            help="A PCN of four practices (two SystmOne, two EMIS) sharing --patients.",
        ),
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Build a synthetic practice (fictional patients) and open it.

    Without --db the demo lives in its own file beside the real database and is rebuilt each
    time. A database holding any patient the demo did not generate is never rebuilt, and a
    copy is kept before every rebuild.
    """
    from recall.services.demo import build_demo, demo_file_url, discard_demo_file

    url = db_url(ctx, db)
    if path:  # where the demo is, for `recall --db ... batch list` and friends
        where = url or demo_file_url()
        emit({"url": where}, json_out, lambda: echo(where.removeprefix("sqlite:///")))
        return
    kept = None
    if url is None:
        url = demo_file_url()
        kept = discard_demo_file(url)
    replaced = ""
    if kept is not None:  # said now: the screens opening next would hide it until they close
        where = url.removeprefix("sqlite:///")
        replaced = f"The demo database {where} is replaced; its previous contents are in {kept}"
        echo(replaced + ".", err=json_out)
    day = parse_date(today, "--today")
    database = open_database(url)
    try:
        result = build_demo(
            database, patients=patients, seed=seed, today=day, replace=replace, pcn=pcn
        )
    finally:
        database.dispose()
    if kept is not None:
        result.copy = kept

    def human() -> None:
        echo(
            f"{result.practice_name}: {result.patients:,} patients, "
            f"{result.register_entries:,} register entries, {result.events:,} coded events "
            f"(seed {result.seed}, as of {result.today.isoformat()})"
        )
        for p in result.practices:
            system = "EMIS Web" if p.clinical_system == "emis" else "SystmOne"
            echo(f"  {p.ods_code} {p.practice_name} ({system}): {p.patients:,} patients")
        echo(f"Database: {result.url}")
        if result.copy and not replaced:
            echo(f"The previous contents were copied to {result.copy}")

    emit(result, json_out, human)
    if not no_tui and not json_out:
        from recall.tui.app import run_app

        notice = f"Demo database: {url} (recall demo --path prints it)"
        run_app(url, notice=f"{notice}. {replaced}." if replaced else notice)


codes_app = typer.Typer(
    help="Which conditions are ready to record codes for, and how to configure the rest.",
    invoke_without_command=True,
)


def _invite_words(c: ConditionCodes) -> str:
    """The invite list in a few words: cluster, how many codes, where they came from."""
    if not c.invite_cluster:
        return "none (QOF publishes no invitation cluster)"
    if not c.invite_codes:
        return f"{c.invite_cluster}: no member list yet"
    return f"{c.invite_cluster}: {c.invite_codes} codes ({c.source})"


def _show_condition(c: ConditionCodes) -> None:
    """One condition: state, invite list, record code, care list, QOF year, fix."""
    state = "ready  " if c.ready else "blocked"
    echo(f"{c.key:<5} {c.name:<28} {state}  {c.reason}")
    echo(f"{'':<5} invite list: {_invite_words(c)}")
    if c.ready and c.record_code:
        extra = "".join(
            f", stage {s}: {code}" for s, code in sorted(c.record_code_by_stage.items())
        )
        echo(f"{'':<5} records {c.record_code} {c.record_term}{extra}".rstrip())
    if c.care:
        echo(f"{'':<5} care: {c.care}")
    echo(f"{'':<5} QOF {c.qof_year}: {c.qof}")
    for gap in c.not_in_release:
        echo(f"{'':<5} {gap['reason']}; import its file instead: {gap['fix']}")
    if c.fix:
        echo(f"{'':<5} fix: {c.fix}")


@codes_app.callback()
def codes_list(ctx: typer.Context, db: DbOption = None, json_out: JsonOption = False) -> None:
    """List every condition: ready or blocked, why, and how to fix it."""
    if db:
        ctx.obj = {**(ctx.obj or {}), "db": db}
    if ctx.invoked_subcommand is not None:
        return
    from recall.services.codes import codes_report

    database = open_database(db_url(ctx, db))
    try:
        report = codes_report(database, practice_id=chosen_practice(ctx, database).id)
    finally:
        database.dispose()

    def human() -> None:
        stages = ", ".join(
            f"{s.stage}: {s.code}" if s.code else f"{s.stage}: not set" for s in report.stage_codes
        )
        echo(f"Clinical system: {report.profile} (LTC stage codes {stages})")
        echo(
            f"QOF year {report.qof_year}.  Ready: {len(report.ready)}  "
            f"Blocked: {len(report.blocked)}"
        )
        if report.blocked:
            echo(
                "Verify or complete every code list at once from the official UK Primary Care "
                f"SNOMED release: {report.release_command}"
            )
        echo("")
        for c in report.conditions:
            _show_condition(c)
        for n in report.new_invitations:
            echo(f"{n['key']:<5} {n['name']:<28} blocked  {n['reason']}")
            echo(f"{'':<5} fix: {n['fix']}")

    emit(report, json_out, human)


@codes_app.command("import")
def codes_import(
    ctx: typer.Context,
    cluster: Annotated[str, typer.Argument(help="Cluster name (e.g. AFIBINVITE_COD) or key.")],
    file: Annotated[Path, typer.Argument(help="CSV from OpenCodelists or the refset portal.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Load a cluster file; it replaces the shipped or provisional list of that cluster."""
    from recall.services.codes import import_cluster

    database = open_database(db_url(ctx, db))
    try:
        result = import_cluster(
            database, cluster, file, practice_id=chosen_practice(ctx, database).id
        )
    except Refused as exc:
        _refused(exc)
        return
    finally:
        database.dispose()

    def human() -> None:
        what = "replacing" if result.replaced else "new"
        echo(
            f"{result.cluster}: {result.codes} codes imported ({what}"
            f"{f' {result.replaced} codes' if result.replaced else ''}), "
            f"{result.role} list for {', '.join(result.conditions)}"
        )
        for c in result.after:
            _show_condition(c)

    emit(result, json_out, human)


@codes_app.command("import-release")
def codes_import_release(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Argument(help="The unzipped UK Primary Care SNOMED release (RF2) folder.")
    ],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Replace every cluster the catalogue names with its members in the official release."""
    from recall.services.release_import import import_release

    database = open_database(db_url(ctx, db))
    try:
        result = import_release(database, folder, practice_id=chosen_practice(ctx, database).id)
    except Refused as exc:
        _refused(exc)
        return
    finally:
        database.dispose()

    def human() -> None:
        echo(
            f"{result.folder}: {len(result.imported)} clusters imported from "
            f"{', '.join(result.refset_files)}"
        )
        for f in result.imported:
            was = f" (replacing {f.replaced})" if f.replaced else ""
            echo(f"  {f.cluster:<16} {f.codes:>4} codes{was}  {f.role}: {', '.join(f.conditions)}")
        if result.not_in_release:
            echo(f"Not in this release: {', '.join(result.not_in_release)}")
        echo(f"Verified against the release: {', '.join(result.verified) or 'none'}")
        echo(f"Can now be coded: {', '.join(result.became_ready) or 'none'}")

    emit(result, json_out, human)


@codes_app.command("set")
def codes_set(
    ctx: typer.Context,
    condition: Annotated[str, typer.Argument(help="Condition key, e.g. AF.")],
    code: Annotated[str, typer.Argument(help="A code from the condition's invite cluster.")],
    stage: Annotated[
        int | None, typer.Option("--stage", help="Only for this stage (1, 2 or 3).")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Choose the code the tool records for a condition."""
    from recall.services.codes import set_record_code

    database = open_database(db_url(ctx, db))
    try:
        view = set_record_code(
            database, condition, code, stage, practice_id=chosen_practice(ctx, database).id
        )
    finally:
        database.dispose()
    emit(view, json_out, lambda: _show_condition(view))


@codes_app.command("enable")
def codes_enable(
    ctx: typer.Context,
    condition: Annotated[str, typer.Argument(help="Condition key, e.g. AF.")],
    provisional: Annotated[
        bool,
        typer.Option("--provisional", help="Accept a code list not yet verified officially."),
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Turn a condition on for invitations."""
    from recall.services.codes import enable_condition

    database = open_database(db_url(ctx, db))
    try:
        view = enable_condition(
            database,
            condition,
            provisional=provisional,
            practice_id=chosen_practice(ctx, database).id,
        )
    finally:
        database.dispose()
    emit(view, json_out, lambda: _show_condition(view))


@codes_app.command("disable")
def codes_disable(
    ctx: typer.Context,
    condition: Annotated[str, typer.Argument(help="Condition key, e.g. AF.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Turn a condition off: no invitations or codes for it until turned on again."""
    from recall.services.codes import disable_condition

    database = open_database(db_url(ctx, db))
    try:
        view = disable_condition(database, condition, practice_id=chosen_practice(ctx, database).id)
    finally:
        database.dispose()
    emit(view, json_out, lambda: _show_condition(view))


@codes_app.command("stage")
def codes_stage(
    ctx: typer.Context,
    stage: Annotated[int, typer.Argument(help="1, 2 or 3.")],
    code: Annotated[str, typer.Argument(help="The LTC invitation code for that stage.")],
    term: Annotated[str, typer.Option("--term", help="The code's term, as the system shows it.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set an LTC stage code for the practice's clinical system (EMIS practices need this)."""
    from recall.services.codes import set_stage_code

    database = open_database(db_url(ctx, db))
    try:
        view = set_stage_code(
            database, stage, code, term, practice_id=chosen_practice(ctx, database).id
        )
    finally:
        database.dispose()
    emit(view, json_out, lambda: echo(f"Stage {view.stage} code: {view.code} {view.term}"))


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("init")(init_cmd)
    app.command("import")(import_cmd)
    app.command("demo")(demo_cmd)
    app.add_typer(codes_app, name="codes")
