"""analytics: indexes for the dashboard's aggregates

Revision ID: f2b3c4d5e6a7
Revises: f1a2b3c4d5e6
Create Date: 2026-11-27 06:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "f2b3c4d5e6a7"
down_revision: str | None = "f1a2b3c4d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lock_timeout() -> None:
    # Never queue behind a long transaction while holding locks that block the application.
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")


def upgrade() -> None:
    _lock_timeout()
    # Clicks of a range, of all campaigns or of one: both counts read only the index (covering).
    with op.batch_alter_table("clicks", schema=None) as batch_op:
        batch_op.create_index("ix_clicks_clicked_at", ["clicked_at"], unique=False)
        batch_op.create_index("ix_clicks_campaign_clicked", ["campaign_id", "clicked_at"], unique=False)


def downgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("clicks", schema=None) as batch_op:
        batch_op.drop_index("ix_clicks_campaign_clicked")
        batch_op.drop_index("ix_clicks_clicked_at")
