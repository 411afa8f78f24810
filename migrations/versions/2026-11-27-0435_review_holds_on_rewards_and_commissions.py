"""review holds: rewards and commissions wait for the firewall's review

Revision ID: a1c6e0f4b2d1
Revises: 557fc25e7271
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c6e0f4b2d1"
down_revision: str | None = "557fc25e7271"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lock_timeout() -> None:
    # Never queue behind a long transaction while holding locks that block the application.
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")


def upgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_order_held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_order_held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("is_order_held")
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_column("is_order_held")
