"""analytics: covering indexes for the dashboard at a million orders

Revision ID: f4d5e6a7b8c9
Revises: f3c4d5e6a7b8
Create Date: 2026-11-27 07:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4d5e6a7b8c9"
down_revision: str | None = "f3c4d5e6a7b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERRED = "method <> 'none'"


def _lock_timeout() -> None:
    # Never queue behind a long transaction while holding locks that block the application.
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")


def upgrade() -> None:
    _lock_timeout()
    # The orders of a range: every column the aggregates read, so they never touch the wide rows.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_placed_facts",
            ["placed_at", "currency", "amount", "status", "customer_id", "id"],
            unique=False,
        )
    # The referred orders' attributions (about a third of them), joined by order id.
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attributions_referred",
            ["order_id", "campaign_id", "customer_referrer_id", "partner_id", "method"],
            unique=False,
            sqlite_where=sa.text(REFERRED),
            postgresql_where=sa.text(REFERRED),
        )
    # The rewards granted in a range, with what their cost is summed by.
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rewards_created_costs",
            ["created_at", "campaign_id", "status", "currency", "amount"],
            unique=False,
        )


def downgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_index("ix_rewards_created_costs")
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.drop_index("ix_attributions_referred")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_placed_facts")
