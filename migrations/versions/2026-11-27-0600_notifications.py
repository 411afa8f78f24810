"""notifications: e-mail outbox and outgoing webhook endpoints and deliveries

Revision ID: f1a2b3c4d5e6
Revises: e7a3c9f1d5b8
Create Date: 2026-11-27 06:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "f1a2b3c4d5e6"
down_revision: str | None = "e7a3c9f1d5b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
