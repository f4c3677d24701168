"""appointment day overview index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The appointments day counts a day's appointments by clinic and status: an index
    # that starts with the time answers it without reading the table.
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index("ix_appointment_start_clinic_status",
                              ["starts_at", "clinic_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_start_clinic_status")
