"""Property: whatever output recall is asked to write, and wherever, no byte that existed
before changes unless recall itself made that file.

Every output type (letters with print file and SMS lists, coding worksheet CSV and .docx,
backfill worksheet, backup, template copies, the log, the year dashboard's lists) is aimed at
random paths among real user files, links to files and folders outside, the database, its
-wal/-shm and a backup.
After each write (done or refused) every pre-existing file outside recall's own outputs has
the same bytes, mode and link target, the database is whole, and no temp file is left.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_letters_service import seed

from recall.outputs import MANIFEST
from recall.services.backfill import apply_backfill
from recall.services.errors import RecallError
from recall.services.infra.backup import backup_database
from recall.services.infra.logging_setup import close_logging, configure_logging
from recall.services.letters import copy_templates, render_batch_letters
from recall.services.views.year_view import export_cell
from recall.services.worksheet import export_worksheet
from recall.store.db import Database

EXAMPLES = int(os.environ.get("RECALL_OUTPUT_EXAMPLES", "25"))

TARGETS = [
    ".",
    "recall.db",
    "recall.db-wal",
    "recall.db-shm",
    "copy.db",
    "user.csv",
    "notes.txt",
    "letter-0001-1.docx",
    "batch-1-print.docx",
    "recall.log",
    "link.csv",
    "dangling.csv",
    "linkdir",
    "linkdir/secret.txt",
    "linkdir/new.csv",
    "sub",
    "sub/user2.csv",
    "sub/new.csv",
    "new.csv",
    "new.docx",
    "newdir",
    "newdir/deep",
]


class World:
    """A practice folder: the database, a backup, the user's files, links to elsewhere."""

    def __init__(self) -> None:
        self.root = Path(os.path.realpath(tempfile.mkdtemp(prefix="recall-prop-")))
        self.w = self.root / "w"
        self.outside = self.root / "outside"
        self.w.mkdir()
        self.outside.mkdir()
        self.db = Database(f"sqlite:///{self.w / 'recall.db'}")
        self.batch = seed(self.db)
        backup_database(self.db, self.w / "copy.db", operator="test")
        (self.outside / "secret.txt").write_text("outside, never to change\n")
        for name, text in {
            "user.csv": "a,b\n1,2\n",
            "notes.txt": "the manager's notes\n",
            "letter-0001-1.docx": "a letter typed by hand\n",
            "batch-1-print.docx": "not recall's\n",
            "recall.log": "someone else's log\n",
        }.items():
            (self.w / name).write_text(text)
        (self.w / "sub").mkdir(mode=0o755)
        (self.w / "sub").chmod(0o755)
        (self.w / "sub" / "user2.csv").write_text("x\n")
        (self.w / "link.csv").symlink_to(self.outside / "secret.txt")
        (self.w / "dangling.csv").symlink_to(self.outside / "nothing-here.csv")
        (self.w / "linkdir").symlink_to(self.outside, target_is_directory=True)
        self.ours: set[Path] = set()

    def snapshot(self) -> dict[Path, tuple[object, ...]]:
        """Every entry: files by bytes and mode, links by target, folders by mode."""
        out: dict[Path, tuple[object, ...]] = {}
        for base in (self.w, self.outside):
            for dirpath, dirnames, filenames in os.walk(base):
                for name in [*dirnames, *filenames]:
                    p = Path(dirpath) / name
                    s = os.lstat(p)
                    if stat.S_ISLNK(s.st_mode):
                        out[p] = ("link", os.readlink(p))
                    elif stat.S_ISDIR(s.st_mode):
                        out[p] = ("dir", stat.S_IMODE(s.st_mode))
                    else:
                        digest = hashlib.sha256(p.read_bytes()).hexdigest()
                        out[p] = ("file", digest, stat.S_IMODE(s.st_mode))
        return out

    def close(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.root, ignore_errors=True)


def _letters(world: World, target: Path, force: bool) -> list[Path]:
    r = render_batch_letters(world.db, world.batch, target, pdf=False, force=force)
    names = [*r.letters, r.print_file, r.sms_csv, r.notify_csv, r.sms_message]
    return [Path(p) for p in names if p]


def _worksheet(world: World, target: Path, force: bool) -> list[Path]:
    files = export_worksheet(world.db, world.batch, target, force=force)
    return [p for p in (files.csv, files.docx) if p]


def _worksheet_docx(world: World, target: Path, force: bool) -> list[Path]:
    docx_path = target.with_suffix(".docx") if target.suffix else target
    files = export_worksheet(world.db, world.batch, docx_path, force=force)
    return [p for p in (files.csv, files.docx) if p]


def _backfill(world: World, target: Path, force: bool) -> list[Path]:
    result = apply_backfill(world.db, worksheet=target, force=force, operator="test")
    return [result.worksheet] if result.worksheet else []


def _backup(world: World, target: Path, force: bool) -> list[Path]:
    return [backup_database(world.db, target, operator="test").path]


def _templates(world: World, target: Path, force: bool) -> list[Path]:
    return copy_templates(target, overwrite=force)


def _year_list(world: World, target: Path, force: bool) -> list[Path]:
    path, _rows = export_cell(world.db, "HYP", "not_invited", out_dir=target, operator="test")
    return [path]


def _log(world: World, target: Path, force: bool) -> list[Path]:
    try:
        path = configure_logging(log_dir=target)
    except OSError as exc:
        raise RecallError(str(exc)) from None
    logging.getLogger("recall.test").warning("a line for the log")
    close_logging()
    return [path]


OUTPUTS: dict[str, Callable[[World, Path, bool], list[Path]]] = {
    "letters": _letters,
    "worksheet": _worksheet,
    "worksheet_docx": _worksheet_docx,
    "backfill": _backfill,
    "backup": _backup,
    "templates": _templates,
    "log": _log,
    "year_list": _year_list,
}


def _database_whole(world: World) -> None:
    conn = sqlite3.connect(world.w / "recall.db")
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] == 5
    finally:
        conn.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(sorted(OUTPUTS)), st.sampled_from(TARGETS), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
@example(steps=[("backfill", "newdir", False), ("letters", "newdir/deep", False)])
@example(steps=[("log", "linkdir/new.csv", False), ("log", "linkdir/new.csv", False)])
@example(steps=[("year_list", "dangling.csv", False), ("templates", "dangling.csv", True)])
def test_no_pre_existing_byte_changes_unless_recall_made_the_file(
    steps: list[tuple[str, str, bool]],
) -> None:
    world = World()
    try:
        for kind, rel, force in steps:
            before = world.snapshot()
            target = world.w / rel
            try:
                made = {Path(os.path.realpath(p)) for p in OUTPUTS[kind](world, target, force)}
            except RecallError:
                made = set()
            after = world.snapshot()
            for path, was in before.items():
                if path in world.ours or path.name == MANIFEST:
                    continue  # recall's own files: it may write them again
                if path.name.startswith("recall.db"):
                    continue  # the live database changes through SQLite; checked below
                if path in made:  # someone else's file replaced: only ever with --force
                    assert force and was[0] == "file", f"{kind} -> {rel}: {path} replaced"
                    continue
                assert after.get(path) == was, f"{kind} -> {rel}: {path} changed"
            world.ours.update(made)
            assert not [p for p in after if ".recall-" in p.name and p.name.endswith(".tmp")]
            _database_whole(world)
            copy = sqlite3.connect(world.w / "copy.db")
            try:
                assert copy.execute("SELECT count(*) FROM patient").fetchone()[0] == 5
            finally:
                copy.close()
    finally:
        close_logging()
        world.close()
