"""Logs never hold names or NHS numbers; files holding patient data are private (0600)."""

from __future__ import annotations

import datetime as dt
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from recall.services.infra.logging_setup import (
    REDACTED,
    close_logging,
    configure_logging,
    redact,
)
from recall.store.db import Database
from recall.store.models import patient_t
from recall.store.practice_repo import get_or_create_practice

NAMES = ("Siobhán", "Featherstonehaugh")
NHS = "9434765919"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """DEBUG logging as a support engineer would turn it on, SQL echo requested too."""
    engine_log = logging.getLogger("sqlalchemy.engine")
    saved = engine_log.level
    engine_log.setLevel(logging.INFO)
    path = configure_logging("DEBUG", log_dir=tmp_path / "logs")
    yield path
    close_logging()
    engine_log.setLevel(saved)


def _log_text(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return "".join(p.read_text(encoding="utf-8") for p in path.parent.glob("recall.log*"))


@pytest.mark.parametrize(
    "raw",
    ["9434765919", "943 476 5919", "943-476-5919", "nhs=9434765919;", "(943 476 5919)"],
)
def test_redact_nhs_like_numbers(raw: str) -> None:
    out = redact(f"patient {raw} done")
    assert REDACTED in out
    assert "5919" not in out


@pytest.mark.parametrize("keep", ["1110941000000107", "batch 12 of 30", "2026-11-27", "123456789"])
def test_redact_leaves_codes_dates_and_counts(keep: str) -> None:
    assert redact(keep) == keep


def test_log_file_private_and_rotates_private(tmp_path: Path) -> None:
    path = configure_logging("INFO", log_dir=tmp_path / "logs")
    try:
        assert _mode(path.parent) == 0o700
        log = logging.getLogger("recall.test")
        for i in range(12_000):  # > 1 MB: forces rotation
            log.info("line %d %s", i, "x" * 80)
        files = sorted(path.parent.glob("recall.log*"))
        assert len(files) >= 2
        assert {_mode(f) for f in files} == {0o600}
    finally:
        close_logging()


def test_log_messages_and_tracebacks_are_redacted(debug_log: Path) -> None:
    log = logging.getLogger("recall.services.test")
    log.debug("looking up %s", NHS)
    log.warning("spaced %s", "943 476 5919")
    try:
        raise ValueError(f"bad row for {NHS}")
    except ValueError:
        log.exception("import failed")
    text = _log_text(debug_log)
    assert "import failed" in text and "ValueError" in text
    assert NHS not in text and "943 476 5919" not in text
    assert text.count(REDACTED) >= 3


def test_database_statements_not_logged_at_debug(debug_log: Path, tmp_path: Path) -> None:
    """SQLAlchemy would log statement parameters (names!) at INFO; it is held at WARNING."""
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with db.write() as s:
        practice = get_or_create_practice(s)
        s.execute(
            insert(patient_t).values(
                practice_id=practice.id,
                nhs_number=NHS,
                family_name=NAMES[1],
                given_name=NAMES[0],
                date_of_birth=dt.date(1950, 1, 1),
                communication_needs="",
            )
        )
    with db.read() as s:
        assert s.execute(select(patient_t.c.family_name)).scalar_one() == NAMES[1]
    db.dispose()
    logging.getLogger("recall.test").debug("wrote one patient")
    text = _log_text(debug_log)
    assert "wrote one patient" in text
    for secret in (*NAMES, NHS):
        assert secret not in text


def test_sqlite_database_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "recall.db"
    Database(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_database_errors_do_not_echo_patient_data(db: Database) -> None:
    """A constraint error's text (which can reach a terminal or a log) has no parameters."""
    from sqlalchemy.exc import IntegrityError

    row = dict(
        nhs_number=NHS,
        family_name=NAMES[1],
        given_name=NAMES[0],
        date_of_birth=dt.date(1950, 1, 1),
        communication_needs="",
    )
    with db.write() as s:
        practice_id = get_or_create_practice(s).id
        s.execute(insert(patient_t).values(practice_id=practice_id, **row))
    with pytest.raises(IntegrityError) as info, db.write() as s:
        s.execute(insert(patient_t).values(practice_id=practice_id, **row))
    text = str(info.value)
    assert "hidden due to hide_parameters" in text or "[parameters" not in text
    for secret in NAMES:
        assert secret not in text
