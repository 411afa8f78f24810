"""review queue: list one review status oldest first

Revision ID: b5f9c3d7a1e4
Revises: d4e8a2b6f0c3
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op

revision: str = "b5f9c3d7a1e4"
down_revision: str | None = "d4e8a2b6f0c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lock_timeout() -> None:
    # Never queue behind a long transaction while holding locks that block the application.
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")


def upgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("order_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_order_reviews_status_reviewed_at", ["status", "reviewed_at"], unique=False)


def downgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("order_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_order_reviews_status_reviewed_at")
