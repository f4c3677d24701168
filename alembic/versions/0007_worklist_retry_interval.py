"""worklist retry interval: how long an item stays off the lists after no answer

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:30:00.000000

After "no answer" or "wrong number" an item used to go straight back on the list,
unclaimed, so a colleague called again a minute later. It is now held back for
``rule_setting.retry_minutes`` (per rule, edited on /admin/rules); existing rules get
two hours.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rule_setting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_minutes", sa.Integer(), nullable=False,
                                      server_default="120"))


def downgrade() -> None:
    with op.batch_alter_table("rule_setting", schema=None) as batch_op:
        batch_op.drop_column("retry_minutes")
