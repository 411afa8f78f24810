"""status pages: delay alerts (one per late item and kind)

Revision ID: f3c4d5e6a7b8
Revises: f2b3c4d5e6a7
Create Date: 2026-11-27 06:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "f3c4d5e6a7b8"
down_revision: str | None = "f2b3c4d5e6a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lock_timeout() -> None:
    # Never queue behind a long transaction while holding locks that block the application.
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")


def upgrade() -> None:
    _lock_timeout()
    op.create_table(
        "delay_alerts",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient_type", sa.String(length=10), nullable=False),
        sa.Column("recipient_id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("subject_id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("expected_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("detected_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("options", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("context", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "recipient_type IN ('customer', 'partner')", name=op.f("ck_delay_alerts_recipient_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delay_alerts")),
        sa.UniqueConstraint("kind", "subject_id", name=op.f("uq_delay_alerts_kind")),
    )
    with op.batch_alter_table("delay_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delay_alerts_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_delay_alerts_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delay_alerts_detected_at"), ["detected_at"], unique=False)


def downgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("delay_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delay_alerts_detected_at"))
        batch_op.drop_index(batch_op.f("ix_delay_alerts_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_delay_alerts_kind"))
    op.drop_table("delay_alerts")
