"""campaign risk overrides

Revision ID: d4e8a2b6f0c3
Revises: c3d7f1a5e9b2
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "d4e8a2b6f0c3"
down_revision: str | None = "c3d7f1a5e9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lock_timeout() -> None:
    # Never queue behind a long transaction while holding locks that block the application.
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")


def upgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "risk_overrides",
                advanced_alchemy.types.JsonB,
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )


def downgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("risk_overrides")
