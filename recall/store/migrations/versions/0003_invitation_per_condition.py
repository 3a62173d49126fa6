"""progress per patient x condition; invitation flags as columns; letters' production date

- `invitation_condition`: one row per condition invited, at the condition's own stage, with a
  partial unique index (patient, condition, stage, QOF year) over live rows. It replaces the
  per-patient index `uq_invitation_live`, which blocked a condition added mid-year.
- `invitation.staff_excluded`, `flags`, `warning`, `letter_number`: what was packed into the
  `reason` text ("staff: ...", "flags:a,b|warning:...") becomes real columns.
- `batch.letters_made_on` / `letters_made_at`: a send date may not precede the letters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAFF = "staff:"
FLAGS = "flags:"
WARNING = "warning:"


def _split(reason: str | None) -> tuple[bool, str | None, str | None, str | None]:
    """(staff_excluded, reason, flags, warning) from the old packed text."""
    text = reason or ""
    if text.startswith(STAFF):
        return True, text[len(STAFF) :].strip() or "excluded by staff", None, None
    if not (text.startswith(FLAGS) or text.startswith(WARNING)):
        return False, reason, None, None
    flags = warning = None
    for part in text.split("|"):
        if part.startswith(FLAGS):
            flags = part[len(FLAGS) :] or None
        elif part.startswith(WARNING):
            warning = part[len(WARNING) :] or None
    return False, None, flags, warning


def _split_reasons_and_conditions(conn: sa.engine.Connection) -> None:
    """Old packed reasons become columns; each live condition of an invitation gets a row."""
    inv = sa.table(
        "invitation",
        sa.column("id", sa.Integer),
        sa.column("patient_id", sa.Integer),
        sa.column("stage", sa.Integer),
        sa.column("qof_year", sa.Integer),
        sa.column("conditions", sa.String),
        sa.column("status", sa.String),
        sa.column("reason", sa.String),
        sa.column("staff_excluded", sa.Boolean),
        sa.column("flags", sa.String),
        sa.column("warning", sa.String),
    )
    ic = sa.table(
        "invitation_condition",
        sa.column("invitation_id", sa.Integer),
        sa.column("patient_id", sa.Integer),
        sa.column("condition", sa.String),
        sa.column("stage", sa.Integer),
        sa.column("qof_year", sa.Integer),
        sa.column("live", sa.Boolean),
    )
    rows = conn.execute(
        sa.select(
            inv.c.id,
            inv.c.patient_id,
            inv.c.stage,
            inv.c.qof_year,
            inv.c.conditions,
            inv.c.status,
            inv.c.reason,
        )
    ).all()
    conds = []
    for r in rows:
        staff, reason, flags, warning = _split(r.reason)
        if (staff, reason, flags, warning) != (False, r.reason, None, None):
            conn.execute(
                sa.update(inv)
                .where(inv.c.id == r.id)
                .values(staff_excluded=staff, reason=reason, flags=flags, warning=warning)
            )
        live = r.status in ("planned", "sent")
        for c in sorted({c for c in (r.conditions or "").split(",") if c}):
            conds.append(
                {
                    "invitation_id": r.id,
                    "patient_id": r.patient_id,
                    "condition": c,
                    "stage": r.stage,
                    "qof_year": r.qof_year,
                    "live": live,
                }
            )
    if conds:
        conn.execute(sa.insert(ic), conds)


def upgrade() -> None:
    op.create_table(
        "invitation_condition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("qof_year", sa.Integer(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitation.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_invitation_condition_invitation_id", "invitation_condition", ["invitation_id"]
    )
    op.add_column(
        "invitation",
        sa.Column("staff_excluded", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("invitation", sa.Column("flags", sa.String(), nullable=True))
    op.add_column("invitation", sa.Column("warning", sa.String(), nullable=True))
    op.add_column("invitation", sa.Column("letter_number", sa.Integer(), nullable=True))
    op.add_column("batch", sa.Column("letters_made_on", sa.Date(), nullable=True))
    op.add_column(
        "batch", sa.Column("letters_made_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )

    _split_reasons_and_conditions(op.get_bind())
    op.drop_index("uq_invitation_live", table_name="invitation")
    op.create_index(
        "uq_invitation_condition_live",
        "invitation_condition",
        ["patient_id", "condition", "stage", "qof_year"],
        unique=True,
        sqlite_where=sa.text("live = true"),
        postgresql_where=sa.text("live = true"),
    )


def downgrade() -> None:
    raise NotImplementedError("recall does not downgrade: restore a backup instead")
