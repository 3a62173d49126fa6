"""The audit log is append-only in the database itself, and `recall audit` lists it."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from recall.cli import main
from recall.services.audit import list_audit
from recall.services.errors import RecallError
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.models import audit_log_t

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[1]


def _seed(db: Database) -> None:
    with db.write() as s:
        append_audit(s, operator="alice", action="import", details={"rows": 12}, at=T0)
        append_audit(
            s,
            operator="bob",
            action="batch_confirm",
            batch_id=7,
            details={"codes": 30},
            at=T0 + dt.timedelta(minutes=5),
        )
        append_audit(
            s, operator="alice", action="batch_void", batch_id=7, at=T0 + dt.timedelta(hours=1)
        )


def _count(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def test_update_refused_by_database(db: Database) -> None:
    _seed(db)
    with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
        s.execute(update(audit_log_t).values(operator="mallory"))
    with db.read() as s:
        assert "mallory" not in s.execute(text("SELECT operator FROM audit_log")).scalars().all()


def test_delete_refused_by_database(db: Database) -> None:
    _seed(db)
    with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
        s.execute(delete(audit_log_t).where(audit_log_t.c.action == "batch_void"))
    assert _count(db) == 3


def test_raw_sql_changes_refused(db: Database) -> None:
    _seed(db)
    statements = ["UPDATE audit_log SET details = '{}'", "DELETE FROM audit_log"]
    if db.backend == "postgresql":
        statements.append("TRUNCATE audit_log")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
            s.execute(text(sql))
    assert _count(db) == 3
    with db.write() as s:  # appending still works
        append_audit(s, operator="carol", action="settings_change")
    assert _count(db) == 4


def test_list_audit_newest_first_and_filtered(db: Database) -> None:
    _seed(db)
    entries = list_audit(db)
    assert [e.action for e in entries] == ["batch_void", "batch_confirm", "import"]
    assert entries[1].operator == "bob" and entries[1].batch_id == 7
    assert entries[1].details == {"codes": 30}
    assert entries[0].at.tzinfo is not None
    assert [e.operator for e in list_audit(db, action="import")] == ["alice"]
    assert len(list_audit(db, limit=2)) == 2
    with pytest.raises(RecallError, match="limit"):
        list_audit(db, limit=0)


def test_cli_audit_json_and_text(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    database = Database(db_url)
    _seed(database)
    database.dispose()
    assert main(["audit", "--db", db_url, "--json", "--action", "batch_confirm"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["entries"]) == 1
    entry = doc["entries"][0]
    assert entry["operator"] == "bob" and entry["batch_id"] == 7
    assert entry["at"].startswith("2026-11-27T09:05")
    assert main(["audit", "--db", db_url, "--limit", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert "alice" in lines[0] and "batch_void" in lines[0] and "batch 7" in lines[0]
    assert main(["audit", "--db", db_url, "--limit", "0"]) == 2
    assert "limit" in capsys.readouterr().err


def test_no_update_or_delete_path_in_code() -> None:
    """Only audit_repo touches audit_log, and only with insert/select."""
    pattern = re.compile(
        r"(update|delete)\(\s*(audit_log_t|AuditLog)|(UPDATE|DELETE FROM|TRUNCATE)\s+audit_log",
        re.IGNORECASE,
    )
    offenders = []
    for path in (ROOT / "recall").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        if pattern.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_state_change_is_audited_without_patient_data(db: Database, tmp_path: Path) -> None:
    """Import, settings, plan, exclude, confirm, void, backfill, backup: who and when, no PII."""
    from stress_support import TODAY, write_practice

    from recall.services.backfill import apply_backfill
    from recall.services.batches import confirm_batch, exclude_patient, plan_batch, void_batch
    from recall.services.imports import import_file
    from recall.services.settings import get_settings, save_settings

    practice = write_practice(tmp_path / "csv", 6)
    generic = tmp_path / "generic.csv"
    generic.write_text(
        "nhs_number,date,code\n"
        + "".join(f"{n},2026-06-01,1109921000000106\n" for n in practice.nhs)
    )
    for kind, path in (
        ("patients", practice.patients),
        ("registers", practice.registers),
        ("events", practice.events),
    ):
        import_file(db, kind, path, operator="alice", today=TODAY)
    with db.write() as s:
        current = get_settings(s)
        current.stage_interval_days = 21
        save_settings(s, current, operator="bob")
    plan = plan_batch(db, 1, "2026-11", TODAY, today=TODAY, operator="carol")
    exclude_patient(db, plan.batch.id, plan.invitations[0].patient_id, "moved", operator="carol")
    confirm_batch(db, plan.batch.id, TODAY, today=TODAY, operator="dave")
    void_batch(db, plan.batch.id, "printed twice", operator="erin")
    import_file(db, "events", generic, operator="alice", today=TODAY)  # generic-only invites
    applied = apply_backfill(db, today=TODAY, operator="frank")
    assert applied.recorded > 0 and applied.run_id is not None
    if db.backend == "sqlite":
        from recall.services.infra.backup import backup_database

        backup_database(db, tmp_path / "copy.db", operator="gina")

    entries = list_audit(db, limit=1000)
    who = {(e.action, e.operator) for e in entries}
    for action, operator in (
        ("import.patients", "alice"),
        ("import.registers", "alice"),
        ("import.events", "alice"),
        ("settings.change", "bob"),
        ("batch.plan", "carol"),
        ("batch.confirm", "dave"),
        ("batch.void", "erin"),
        ("backfill.apply", "frank"),
    ):
        assert (action, operator) in who, f"{action} by {operator} not audited: {sorted(who)}"
    assert any(op == "carol" and a != "batch.plan" for a, op in who), "exclusion not audited"
    now = dt.datetime.now(dt.UTC)
    assert all(abs((now - e.at).total_seconds()) < 600 for e in entries)
    text_of_log = json.dumps([e.details for e in entries], ensure_ascii=False)
    for nhs in practice.nhs:
        assert nhs not in text_of_log
    for name in practice.names:
        assert name not in text_of_log
