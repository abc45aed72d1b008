"""changes.created_at index: /admin counts the fleet's corrections of the last 24 hours

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 04:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_changes_created_at", "changes", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_changes_created_at", table_name="changes")
