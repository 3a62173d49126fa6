"""The `recall` command. Every sub-command group lives in its own module."""

from __future__ import annotations

import logging
import sys

import typer

from recall.cli import (
    admin_cmds,
    backfill_cmds,
    batch_cmds,
    letters_cmds,
    practice_cmds,
    report_cmds,
    setup_cmds,
)
from recall.cli.common import DbOption, PracticeOption, echo, practice_ods
from recall.services.errors import RecallError
from recall.services.infra.database import DatabaseError

log = logging.getLogger(__name__)

app = typer.Typer(
    name="recall",
    help="Long-term-condition review invitations: monthly 1st/2nd/3rd batches with QOF codes.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context, db: DbOption = None, practice: PracticeOption = None) -> None:
    """Open the terminal UI when no command is given."""
    ctx.obj = {"db": db, "practice": practice}
    if ctx.invoked_subcommand is None:
        from recall.tui.app import run_app

        run_app(db, practice=practice_ods(ctx))  # several practices and none: the picker


setup_cmds.register(app)
batch_cmds.register(app)
letters_cmds.register(app)
backfill_cmds.register(app)
report_cmds.register(app)
admin_cmds.register(app)
practice_cmds.register(app)


def _start_logging() -> None:
    """A private, NHS-number-redacting log file; a log problem never stops the command."""
    from recall.services.infra.logging_setup import configure_logging

    try:
        configure_logging()
    except OSError as exc:
        echo(f"recall: warning: cannot open the log file ({exc.strerror})", err=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI, logging only the command's name and its exit code (never its values)."""
    from recall.services.infra.logging_setup import command_name

    _start_logging()
    name = command_name(sys.argv[1:] if argv is None else argv)
    log.info("recall %s: started", name)
    code = _main(argv)
    log.info("recall %s: exit code %d", name, code)
    return code


def json_to_command(argv: list[str]) -> list[str]:
    """`recall --json patient N` as `recall patient N --json`: the README says every command
    takes --json, before or after its name."""
    head: list[str] = []
    i, wanted = 0, False
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] == "--json":
            wanted = True
        elif argv[i] in ("--db", "--practice") and i + 1 < len(argv):
            head += argv[i : i + 2]
            i += 1
        else:
            head.append(argv[i])
        i += 1
    rest = argv[i:]
    if not wanted:
        return argv
    return head + rest + ["--json"] if rest else argv


def practice_to_root(argv: list[str]) -> list[str]:
    """`recall batch list --practice B86001` as `recall --practice B86001 batch list`: every
    command takes --practice, before or after its name, and it is chosen once, at the root."""
    rest: list[str] = []
    chosen: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--practice" and i + 1 < len(argv):
            chosen = ["--practice", argv[i + 1]]
            i += 2
            continue
        if arg.startswith("--practice="):
            chosen = ["--practice", arg.split("=", 1)[1]]
        else:
            rest.append(arg)
        i += 1
    return chosen + rest


def _main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected failures become one line on stderr and exit code 2."""
    args = json_to_command(practice_to_root(list(sys.argv[1:] if argv is None else argv)))
    try:
        result = app(args=args, standalone_mode=False)
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        echo("recall: cancelled", err=True)
        return 1
    except typer.TyperException as exc:  # usage errors: bad option, unknown command
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            echo(f"recall: {exc}", err=True)
        return int(getattr(exc, "exit_code", 2))
    except RecallError as exc:
        echo(f"recall: {exc}", err=True)
        return 2
    except DatabaseError as exc:
        echo(f"recall: database problem: {exc}", err=True)
        return 3
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Never a traceback on screen: database messages can quote patient data. The log
        # (private, NHS numbers redacted) keeps the details for support.
        log.exception("recall: unexpected %s", type(exc).__name__)
        echo(
            f"recall: unexpected problem ({type(exc).__name__}); the command stopped and its "
            "changes were not saved. Details are in the recall log file.",
            err=True,
        )
        return 1
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
