"""review holds: rewards and commissions wait for the firewall's review

Revision ID: a1c6e0f4b2d1
Revises: 557fc25e7271
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "a1c6e0f4b2d1"
down_revision: str | None = "557fc25e7271"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
