"""backfills.max_id: the progress estimate's end, instead of a COUNT on every page

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 04:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backfills") as batch:
        batch.add_column(sa.Column("max_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backfills") as batch:
        batch.drop_column("max_id")
