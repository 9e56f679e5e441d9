"""outbox fencing tokens; one sender per chat (outbox_lane)

Revision ID: 0009_sender
Revises: 0007_contract
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision = "0009_sender"
down_revision = "0008_lanes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("claim_token", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "outbox_lane",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("until", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name="pk_outbox_lane"),
    )


def downgrade() -> None:
    op.drop_table("outbox_lane")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claim_token")
