"""fhir notifications: rest-hook notifications queued for the worker

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import prm.models.types
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("waiting_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("received_at", prm.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", prm.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("finished_at", prm.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("waiting_key", name="uq_fhir_notification_waiting_key"),
    )
    with op.batch_alter_table("fhir_notification", schema=None) as batch_op:
        batch_op.create_index("ix_fhir_notification_status_due",
                              ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fhir_notification", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_notification_status_due")
    op.drop_table("fhir_notification")
