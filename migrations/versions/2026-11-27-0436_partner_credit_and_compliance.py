"""partner credit tiers, compliance status, payout account cooling-off

Revision ID: c3d7f1a5e9b2
Revises: a1c6e0f4b2d1
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "c3d7f1a5e9b2"
down_revision: str | None = "a1c6e0f4b2d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lock_timeout() -> None:
    # Never queue behind a long transaction while holding locks that block the application.
    if op.get_context().dialect.name == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")


def upgrade() -> None:
    _lock_timeout()
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credit_tier", sa.String(length=20), nullable=False, server_default="new")
        )
        batch_op.add_column(sa.Column("credit_tier_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column(
                "credit_tier_changed_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("is_identity_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "identity_verified_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("identity_verified_by", sa.String(length=200), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_partners_credit_tier"), "credit_tier IN ('new', 'standard', 'trusted')"
        )
    with op.batch_alter_table("payout_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_verified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(
            sa.Column("verified_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("verified_by", sa.String(length=200), nullable=True))
    op.create_table(
        "payout_hold_releases",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("partner_id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(currency) = 3 AND upper(currency) = currency",
            name=op.f("ck_payout_hold_releases_currency_upper"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_payout_hold_releases_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_hold_releases")),
        sa.UniqueConstraint(
            "partner_id", "period", "currency", name=op.f("uq_payout_hold_releases_partner_id")
        ),
    )


def downgrade() -> None:
    _lock_timeout()
    op.drop_table("payout_hold_releases")
    with op.batch_alter_table("payout_accounts", schema=None) as batch_op:
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("is_verified")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_partners_credit_tier"), type_="check")
        batch_op.drop_column("identity_verified_by")
        batch_op.drop_column("identity_verified_at")
        batch_op.drop_column("is_identity_verified")
        batch_op.drop_column("credit_tier_changed_at")
        batch_op.drop_column("credit_tier_reason")
        batch_op.drop_column("credit_tier")
