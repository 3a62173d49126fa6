"""Nothing recall writes can destroy data: the database, links, other people's files, other
batches' letters, a full disk. Real files, real databases, the real CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select
from test_letters_service import seed

from recall.cli import main
from recall.outputs import MANIFEST
from recall.services.batches import confirm_batch
from recall.services.errors import Refused
from recall.services.letters import render_batch_letters
from recall.store.db import Database, sqlite_path
from recall.store.models import patient_t, recorded_code_t

TODAY = dt.date.today()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (_digest(p), _mode(p)) for p in folder.iterdir() if p.is_file()}


def _confirmed(db: Database) -> int:
    batch_id = seed(db)
    confirm_batch(db, batch_id, TODAY, today=TODAY, operator="test")
    return batch_id


def _healthy(path: Path) -> None:
    """The SQLite file still opens, passes its check and holds the patients."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] == 5
    finally:
        conn.close()


# -- 1. worksheets never over the database, a link or someone's file --------------------------


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_worksheet_out_the_database_is_refused(
    sqlite_db: Database, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from recall.services.infra.database import database_id

    batch_id = _confirmed(sqlite_db)
    database_id(sqlite_db)  # made on first use: made now, so the file below is final
    sqlite_db.dispose()  # checkpoint: every page is in the file itself
    path = sqlite_path(sqlite_db.url)
    assert path is not None
    target = Path(f"{path}{suffix}")
    before = _digest(path)
    for force in ([], ["--force"]):
        argv = ["export", "worksheet", str(batch_id), "--out", str(target)]
        code = main([*argv, "--db", sqlite_db.url, *force])
        assert code == 2
        err = capsys.readouterr().err
        assert str(target) in err and "database" in err and err[-1] == "\n"
    sqlite_db.dispose()
    assert _digest(path) == before
    _healthy(path)


def test_backfill_worksheet_on_the_database_records_nothing(sqlite_db: Database) -> None:
    _confirmed(sqlite_db)
    path = sqlite_path(sqlite_db.url)
    assert path is not None
    with sqlite_db.read() as s:
        codes = s.execute(select(func.count()).select_from(recorded_code_t)).scalar()
    code = main(["backfill", "apply", "--worksheet", str(path), "--db", sqlite_db.url])
    assert code == 2
    with sqlite_db.read() as s:
        assert s.execute(select(func.count()).select_from(recorded_code_t)).scalar() == codes
    sqlite_db.dispose()
    _healthy(path)


def test_worksheet_over_a_backup_is_refused_even_with_force(
    sqlite_db: Database, tmp_path: Path
) -> None:
    batch_id = _confirmed(sqlite_db)
    copy = tmp_path / "backups" / "monday.copy"
    assert main(["backup", str(copy), "--db", sqlite_db.url]) == 0
    before = _digest(copy)
    argv = ["export", "worksheet", str(batch_id), "--out", str(copy), "--db", sqlite_db.url]
    assert main(argv) == 2
    assert main([*argv, "--force"]) == 2
    assert _digest(copy) == before


def test_worksheet_out_a_symlink_is_refused_and_its_target_unchanged(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = _confirmed(db)
    target = tmp_path / "precious.txt"
    target.write_text("the practice's own notes\n")
    target.chmod(0o644)
    link = tmp_path / "worksheet.csv"
    link.symlink_to(target)
    for force in ([], ["--force"]):
        argv = ["export", "worksheet", str(batch_id), "--out", str(link), "--db", db.url]
        assert main(argv + force) == 2
        assert "symbolic link" in capsys.readouterr().err
    assert target.read_text() == "the practice's own notes\n" and _mode(target) == 0o644
    assert link.is_symlink() and os.readlink(link) == str(target)


def test_existing_file_is_replaced_only_with_force(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch_id = _confirmed(db)
    mine = tmp_path / "codes.csv"
    mine.write_text("my own spreadsheet\n")
    argv = ["export", "worksheet", str(batch_id), "--out", str(mine), "--db", db.url]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(mine) in err and "--force" in err
    assert mine.read_text() == "my own spreadsheet\n"
    assert main([*argv, "--force"]) == 0
    assert mine.read_text().startswith("date,code,term") and _mode(mine) == 0o600
    assert main(argv) == 0  # recall wrote it now: running again replaces its own file
    # a file put in place of recall's (new inode) is the user's again
    mine.unlink()
    mine.write_text("replaced by hand\n")
    assert main(argv) == 2 and mine.read_text() == "replaced by hand\n"


# -- 2. letters touch only their own batch's files ---------------------------------------------


def test_letters_out_dir_leaves_other_files_and_the_folder_mode_alone(
    db: Database, tmp_path: Path
) -> None:
    batch_id = seed(db)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    others = {
        "letter-0001-999999.docx": b"another batch's letter",
        "batch-77-print.docx": b"another batch's print file",
        "sms-accurx-stage2.csv": b"another stage's SMS list",
        "notes.txt": b"the practice manager's notes",
    }
    for name, data in others.items():
        (shared / name).write_bytes(data)
    result = render_batch_letters(db, batch_id, shared, pdf=False)
    again = render_batch_letters(db, batch_id, shared, pdf=False)
    assert result.letters == again.letters
    assert _mode(shared) == 0o755
    for name, data in others.items():
        assert (shared / name).read_bytes() == data
    for path in [*result.letters, result.print_file]:
        assert path is not None and _mode(Path(path)) == 0o600
    assert len(docx.Document(str(result.print_file)).sections) == len(result.letters)


def test_a_users_file_with_a_letters_name_is_not_replaced(db: Database, tmp_path: Path) -> None:
    batch_id = seed(db)
    out = tmp_path / "o"
    out.mkdir()
    theirs = out / f"batch-{batch_id}-print.docx"
    theirs.write_bytes(b"typed by hand")
    with pytest.raises(Refused, match="did not write it"):
        render_batch_letters(db, batch_id, out, pdf=False)
    assert sorted(p.name for p in out.iterdir()) == [theirs.name]  # nothing else written
    assert theirs.read_bytes() == b"typed by hand"
    forced = render_batch_letters(db, batch_id, out, pdf=False, force=True)
    assert forced.print_file == str(theirs) and theirs.read_bytes()[:2] == b"PK"


def test_a_sent_batchs_letters_are_never_rewritten(db: Database, tmp_path: Path) -> None:
    batch_id = seed(db)
    out = tmp_path / "o"
    render_batch_letters(db, batch_id, out, pdf=False)
    before = _snapshot(out)
    confirm_batch(db, batch_id, TODAY, today=TODAY, operator="test")
    for folder in (out, tmp_path / "elsewhere"):
        with pytest.raises(Refused, match="confirmed as sent"):
            render_batch_letters(db, batch_id, folder, pdf=False)
    assert _snapshot(out) == before
    assert not (tmp_path / "elsewhere").exists()


def test_default_folders_are_per_database_and_per_batch(tmp_path: Path) -> None:
    """Two SQLite databases side by side, each batch 1: separate folders, named by id."""
    from recall.services.infra.database import database_id, output_root

    a = Database(f"sqlite:///{tmp_path / 'a.db'}")
    b = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        ra = render_batch_letters(a, seed(a), pdf=False)
        rb = render_batch_letters(b, seed(b), pdf=False)
        assert database_id(a) != database_id(b)
        assert Path(ra.folder) == output_root(a) / "letters" / "batch-1"
        assert output_root(a).name == database_id(a) == database_id(a)
        assert ra.folder != rb.folder
    finally:
        a.dispose()
        b.dispose()


@pytest.mark.pg
def test_postgresql_databases_with_look_alike_names_get_their_own_folders() -> None:
    """`a.b` and `a_b` (and the same name on two servers) used to share one folder."""
    from conftest import pg_admin_url, pg_available
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from recall.services.infra.database import output_root

    ok, why = pg_available()
    if not ok:
        pytest.skip(why)
    suffix = os.urandom(3).hex()
    names = [f"recall_out.{suffix}", f"recall_out_{suffix}"]
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    dbs = [
        Database(make_url(pg_admin_url()).set(database=n).render_as_string(hide_password=False))
        for n in names
    ]
    try:
        results = [render_batch_letters(d, seed(d), pdf=False) for d in dbs]
        assert output_root(dbs[0]) != output_root(dbs[1])
        first = _snapshot(Path(results[0].folder))
        render_batch_letters(dbs[1], 1, pdf=False)  # again: must not touch the other's files
        assert _snapshot(Path(results[0].folder)) == first
        assert len([n for n in first if n.startswith("letter-")]) == 3
    finally:
        for d in dbs:
            d.dispose()
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- 4. a full disk leaves the previous file whole and no temp file ----------------------------

_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the limit: EFBIG, not a kill
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    from recall.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


def _run_limited(limit: int, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(limit), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_disk_full_worksheet_keeps_the_previous_one(sqlite_db: Database, tmp_path: Path) -> None:
    batch_id = _confirmed(sqlite_db)
    sheet = tmp_path / "sheets" / "worksheet.docx"
    argv = ["export", "worksheet", str(batch_id), "--out", str(sheet), "--db", sqlite_db.url]
    assert main(argv) == 0
    before = _digest(sheet)
    assert sheet.stat().st_size > 20_000
    proc = _run_limited(20_000, argv)  # the new worksheet does not fit
    assert proc.returncode == 2, proc.stderr
    assert str(sheet) in proc.stderr and "Traceback" not in proc.stderr
    assert _digest(sheet) == before
    assert sorted(p.name for p in sheet.parent.iterdir()) == sorted([MANIFEST, sheet.name])


def test_disk_full_letters_keep_the_previous_ones(sqlite_db: Database, tmp_path: Path) -> None:
    batch_id = seed(sqlite_db)
    out = tmp_path / "letters"
    argv = ["batch", "letters", str(batch_id), "--out", str(out), "--no-pdf", "--db", sqlite_db.url]
    assert main(argv) == 0
    before = _snapshot(out)
    print_file = out / f"batch-{batch_id}-print.docx"
    assert print_file.stat().st_size > 30_000
    proc = _run_limited(30_000, [*argv, "--duplex"])  # different bytes, and they do not fit
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(out) == before  # every file as it was, no temp file left


def test_patient_counts_untouched_by_refusals(db: Database, tmp_path: Path) -> None:
    """A refused write changes nothing in the database either (no audit, no folder)."""
    batch_id = _confirmed(db)
    with db.read() as s:
        patients = s.execute(select(func.count()).select_from(patient_t)).scalar()
    link = tmp_path / "l.csv"
    link.symlink_to(tmp_path / "missing-target.csv")
    assert main(["export", "worksheet", str(batch_id), "--out", str(link), "--db", db.url]) == 2
    assert not (tmp_path / "missing-target.csv").exists()
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(patient_t)).scalar() == patients
