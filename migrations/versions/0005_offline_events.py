"""offline events: a portal's event mode, and its offline queue's collection state (issue 13)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import namecase.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("portals") as batch:
        batch.add_column(
            sa.Column("event_mode", sa.String(16), nullable=False, server_default="online")
        )
        batch.add_column(
            sa.Column("offline_extended", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("event_mode_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("portal_queue") as batch:
        batch.add_column(sa.Column("offline_process_id", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("offline_due_at", namecase.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("offline_rung_at", namecase.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_queue") as batch:
        batch.drop_column("offline_rung_at")
        batch.drop_column("offline_due_at")
        batch.drop_column("offline_process_id")
    with op.batch_alter_table("portals") as batch:
        batch.drop_column("event_mode_reason")
        batch.drop_column("offline_extended")
        batch.drop_column("event_mode")
