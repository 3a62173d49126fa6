"""CLI commands: `recall batch letters` and `recall letters check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recall.cli.batch_cmds import batch_app
from recall.cli.common import (
    DbOption,
    ForceOption,
    JsonOption,
    chosen_practice,
    db_url,
    echo,
    emit,
    open_database,
    plural,
    practice_database,
    practice_ods,
)
from recall.letters import CheckReport, check_template
from recall.letters.templates import all_template_names, find_template
from recall.services.errors import RecallError
from recall.services.letters import (
    LettersResult,
    copy_templates,
    practice_templates_dir,
    render_batch_letters,
    template_search_path,
)
from recall.services.practices import practice_folder

letters_app = typer.Typer(help="Letter templates: check them before a batch uses them.")

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Folder for the letters (default: your data folder)."),
]


@batch_app.command("letters")
def batch_letters(
    ctx: typer.Context,
    batch_id: Annotated[int, typer.Argument(help="The batch number.")],
    out: OutOption = None,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Do not make a PDF.")] = False,
    duplex: Annotated[
        bool,
        typer.Option("--duplex", help="Printing double-sided: start every letter on a new sheet."),
    ] = False,
    force: ForceOption = False,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Make again, dated today, letters already made on an earlier day (the send "
            "date can then be no earlier than today). Without it that is refused: if they "
            "went out, record them with recall batch confirm --sent-on instead.",
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the batch's print file, single letters and SMS list (repeatable the same day;
    letters made on an earlier day are made again only with --again)."""
    with practice_database(ctx, db, as_json, batch_id=batch_id) as (database, _pid):
        result = render_batch_letters(
            database, batch_id, out, pdf=not no_pdf, duplex=duplex, force=force, again=again
        )

    def human() -> None:
        _show(result)

    emit(result.to_json(), as_json, human)


def _show(result: LettersResult) -> None:
    c = result.counts
    echo(f"Batch {result.batch_id}: letters written to {result.folder}")
    if result.print_file:
        echo(
            f"  print file: {result.print_file} ({plural(c.get('letters', 0), 'letter')}, "
            f"{c.get('large_print', 0)} large print, {c.get('easy_read', 0)} easy read; "
            "in postcode order)"
        )
    else:
        echo("  no letters to print")
    if result.sms_csv:
        sms = c.get("sms", 0)
        echo(f"  SMS list (Accurx): {result.sms_csv} ({plural(sms, 'patient')})")
        echo(f"  SMS list (GOV.UK Notify): {result.notify_csv}")
        echo(f"  SMS text to send: {result.sms_message}")
    if result.print_file:  # without one, "no letters to print" was said above
        echo(f"  {result.pdf_message}" + (f": {result.pdf}" if result.pdf else ""))
    for note in result.notes:
        echo(f"  note: {note}")


def _practice_subfolder(ctx: typer.Context, db: str | None) -> str | None:
    """With --practice (or RECALL_PRACTICE) in a PCN database: that practice's own templates
    sub-folder; otherwise None (the one folder every practice shares)."""
    if practice_ods(ctx) is None:
        return None
    database = open_database(db_url(ctx, db))
    try:
        return practice_folder(database, chosen_practice(ctx, database).id)
    finally:
        database.dispose()


@letters_app.command("check")
def letters_check(
    ctx: typer.Context,
    template: Annotated[
        str | None,
        typer.Argument(help="A template file or shipped name (default: every template in use)."),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Check templates: syntax errors with their line, unknown variables, a sample render."""
    search = template_search_path(None, _practice_subfolder(ctx, db))
    if template is None:
        paths = [find_template(name, search) for name in all_template_names()]
    else:
        given = Path(template)
        paths = [given if given.is_file() else _locate(template, search)]
    reports = [check_template(p) for p in paths]

    def human() -> None:
        for r in reports:
            _show_check(r, detail=template is not None)

    emit({"templates": [r.to_json() for r in reports]}, as_json, human)
    bad = [r for r in reports if not r.ok]
    if bad:
        echo(f"recall: {len(bad)} template(s) have problems", err=True)
        raise typer.Exit(1)


@letters_app.command("copy")
def letters_copy(
    ctx: typer.Context,
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Folder for the copies (default: your practice's folder)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace copies that are already there.")
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Copy the shipped templates to your practice's folder, to edit them in Word (with
    --practice in a PCN database: that practice's own sub-folder)."""
    sub = None if to else _practice_subfolder(ctx, db)
    folder = to or (practice_templates_dir() / sub if sub else practice_templates_dir())
    copied = copy_templates(folder, overwrite=overwrite)

    def human() -> None:
        echo(f"Templates folder: {folder}")
        for path in copied:
            echo(f"  copied {path.name}")
        if not copied:
            echo("  nothing copied: the files are already there (--overwrite replaces them)")
        echo("Edit them in Word, then run: recall letters check")

    emit({"folder": str(folder), "copied": [str(p) for p in copied]}, as_json, human)


def _locate(name: str, search: list[Path]) -> Path:
    try:
        return find_template(name, search)
    except Exception:
        raise RecallError(f"no template {name!r} (give a file path or a shipped name)") from None


def _show_check(report: CheckReport, *, detail: bool) -> None:
    if report.ok:
        extra = (
            f" ({report.sms_characters} characters, {report.sms_fragments} SMS fragment(s))"
            if report.kind == "sms"
            else ""
        )
        echo(f"ok      {report.path}{extra}")
        if detail and report.sample:
            echo("sample:")
            for line in report.sample.splitlines():
                echo(f"  {line}")
        return
    echo(f"PROBLEM {report.path}")
    for p in report.problems:
        echo(f"  {p}")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app (`batch letters` is on batch_app)."""
    app.add_typer(letters_app, name="letters")
