"""an audit entry about a batch belongs to that batch's practice

The audit log is append-only (0002) and keeps old rows exactly as written, so this is a
trigger on new entries rather than a foreign key: an entry naming a batch must name the
batch's practice too. Nothing about old entries changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_log: an entry about a batch belongs to that batch's practice"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION recall_audit_log_batch_practice() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.batch_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM batch b
        WHERE b.id = NEW.batch_id AND b.practice_id IS DISTINCT FROM NEW.practice_id
    ) THEN
        RAISE EXCEPTION '{MESSAGE.replace("'", "''")}' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$
"""
PG_TRIGGER = (
    "CREATE TRIGGER audit_log_batch_practice BEFORE INSERT ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION recall_audit_log_batch_practice()"
)
SQLITE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS audit_log_batch_practice BEFORE INSERT ON audit_log "
    "WHEN NEW.batch_id IS NOT NULL AND EXISTS (SELECT 1 FROM batch b "
    "WHERE b.id = NEW.batch_id AND b.practice_id IS NOT NEW.practice_id) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE.replace(chr(39), chr(39) * 2)}'); END"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    elif dialect == "sqlite":
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    raise NotImplementedError("recall does not downgrade: restore a backup instead")
