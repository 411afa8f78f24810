"""campaign risk overrides

Revision ID: d4e8a2b6f0c3
Revises: c3d7f1a5e9b2
Create Date: 2026-11-27 04:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "d4e8a2b6f0c3"
down_revision: str | None = "c3d7f1a5e9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
