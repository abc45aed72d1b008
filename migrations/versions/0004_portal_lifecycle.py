"""portal lifecycle: remembered uninstalls and binding checks (issue 12, docs/LIFECYCLE.md)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import namecase.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("portals") as batch:
        batch.add_column(
            sa.Column("bindings_checked_at", namecase.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "uninstall_requested_at", namecase.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column("uninstall_clean", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("portals") as batch:
        batch.drop_column("uninstall_clean")
        batch.drop_column("uninstall_requested_at")
        batch.drop_column("bindings_checked_at")
