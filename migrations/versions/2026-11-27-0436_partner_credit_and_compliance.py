"""partner credit tiers, compliance status, payout account cooling-off

Revision ID: c3d7f1a5e9b2
Revises: a1c6e0f4b2d1
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "c3d7f1a5e9b2"
down_revision: str | None = "a1c6e0f4b2d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
