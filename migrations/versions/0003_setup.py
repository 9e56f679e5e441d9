"""the register's user (使用人) on each device

Revision ID: 0003_setup
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_setup"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN with a default: no table rebuild on SQLite.
    op.add_column(
        "asset",
        sa.Column("user_name", sa.String(length=200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("asset") as batch_op:
        batch_op.drop_column("user_name")
