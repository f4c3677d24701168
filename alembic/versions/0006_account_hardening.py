"""account hardening: one-time passwords, failed logins counted by address

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:50:00.000000

Accounts an administrator creates or resets get a one-time password
(``must_change_password``, ``one_time_login_at``); one an administrator creates waits,
inactive, until another administrator approves it (``created_by_id``,
``awaiting_approval``). Failed logins are counted in
``login_throttle`` per address and per account and address, for names that exist and
names that do not alike, instead of on the account (``failed_login_count``,
``locked_until``), which let anyone lock out anyone and told which names exist.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import prm.models.types
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", prm.models.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("blocked_until", prm.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_blocked_until"), ["blocked_until"],
                              unique=False)
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        # Accounts that exist already keep working: their passwords are their own.
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column(
            "one_time_login_at", prm.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("awaiting_approval", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_foreign_key(batch_op.f("fk_staff_user_created_by_id_staff_user"),
                                    "staff_user", ["created_by_id"], ["id"])
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_login_count")


def downgrade() -> None:
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_login_count", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column(
            "locked_until", prm.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f("fk_staff_user_created_by_id_staff_user"),
                                 type_="foreignkey")
        batch_op.drop_column("awaiting_approval")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("one_time_login_at")
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_blocked_until"))
    op.drop_table("login_throttle")
