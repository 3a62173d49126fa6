"""every invitation, invited condition and recorded code belongs to exactly one practice

A PCN database holds several practices side by side. `practice_id` is added to
`invitation`, `invitation_condition` and `recorded_code` (filled from the batch or the
patient), and composite foreign keys onto new unique (id, practice_id) keys of `patient`,
`batch`, `invitation` and `backfill_run` make the database itself refuse a row that points
at another practice's patient, batch, invitation or backfill run.

SQLite note: the child tables are rebuilt (batch mode) while foreign keys are off (see
env.py); `PRAGMA foreign_key_check` then checks every row before the migration commits.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARENT_KEYS = {
    "patient": "uq_patient_id_practice",
    "batch": "uq_batch_id_practice",
    "backfill_run": "uq_backfill_run_id_practice",
}
# child table -> (name, [(own column, parent table)]) of each composite foreign key
CHILD_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "invitation": [
        ("fk_invitation_batch_practice", "batch_id", "batch"),
        ("fk_invitation_patient_practice", "patient_id", "patient"),
    ],
    "invitation_condition": [
        ("fk_invitation_condition_invitation_practice", "invitation_id", "invitation"),
        ("fk_invitation_condition_patient_practice", "patient_id", "patient"),
    ],
    "recorded_code": [
        ("fk_recorded_code_patient_practice", "patient_id", "patient"),
        ("fk_recorded_code_batch_practice", "batch_id", "batch"),
        ("fk_recorded_code_invitation_practice", "invitation_id", "invitation"),
        ("fk_recorded_code_backfill_run_practice", "backfill_run_id", "backfill_run"),
    ],
}
# where each child row's practice comes from
FILL = {
    "invitation": "SELECT b.practice_id FROM batch b WHERE b.id = invitation.batch_id",
    "invitation_condition": (
        "SELECT p.practice_id FROM patient p WHERE p.id = invitation_condition.patient_id"
    ),
    "recorded_code": "SELECT p.practice_id FROM patient p WHERE p.id = recorded_code.patient_id",
}


def _child(table: str) -> None:
    """practice_id filled, NOT NULL, and its composite foreign keys."""
    op.add_column(table, sa.Column("practice_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE {table} SET practice_id = ({FILL[table]})")
    with op.batch_alter_table(table) as batch:
        batch.alter_column("practice_id", existing_type=sa.Integer(), nullable=False)
        for name, column, parent in CHILD_KEYS[table]:
            batch.create_foreign_key(name, parent, [column, "practice_id"], ["id", "practice_id"])


def upgrade() -> None:
    for table, name in PARENT_KEYS.items():
        op.create_index(name, table, ["id", "practice_id"], unique=True)
    _child("invitation")
    op.create_index("uq_invitation_id_practice", "invitation", ["id", "practice_id"], unique=True)
    _child("invitation_condition")
    _child("recorded_code")
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            tables = sorted({str(row[0]) for row in broken})
            raise RuntimeError(f"rows point at missing rows in: {', '.join(tables)}")


def downgrade() -> None:
    raise NotImplementedError("recall does not downgrade: restore a backup instead")
