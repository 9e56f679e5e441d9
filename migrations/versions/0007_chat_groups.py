"""a site's alert group (a Telegram group where its escalation alerts are also posted)

Revision ID: 0007_chat_groups
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_chat_groups"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: no table rebuild on SQLite.
    op.add_column("site", sa.Column("alert_chat_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site") as batch_op:
        batch_op.drop_column("alert_chat_id")
