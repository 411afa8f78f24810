"""pending card fingerprints: a card Stripe reported before its order arrived

Revision ID: e7a3c9f1d5b8
Revises: b5f9c3d7a1e4
Create Date: 2026-11-27 05:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "e7a3c9f1d5b8"
down_revision: str | None = "b5f9c3d7a1e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_card_fingerprints",
        sa.Column("payment_reference", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=100), nullable=False),
        sa.Column("received_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_card_fingerprints")),
        sa.UniqueConstraint("payment_reference", name=op.f("uq_pending_card_fingerprints_payment_reference")),
    )


def downgrade() -> None:
    op.drop_table("pending_card_fingerprints")
