"""escalation steps of one clock go out in order (outbox chain and rank); stale reminders expire

Revision ID: 0011_steps
Revises: 0007_contract
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision = "0011_steps"
down_revision = "0009_sender"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("chain", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("rank", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_chain", "outbox", ["chain", "rank"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_chain", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("rank")
        batch.drop_column("chain")
