"""review queue

Revision ID: b5f9c3d7a1e4
Revises: d4e8a2b6f0c3
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "b5f9c3d7a1e4"
down_revision: str | None = "d4e8a2b6f0c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
