"""chat lanes: one instance at a time handles a chat's updates, in update order

The update journal remembers each update's chat; `chat_lane` is the per-chat lease
(with a fencing token) and the dialog state gets a version, so a stale writer is
refused instead of overwriting a newer step.

Revision ID: 0008_lanes
Revises: 0007_contract
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision = "0008_lanes"
down_revision = "0007_contract"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_lane",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=96), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bot_id", "chat_id", name="pk_chat_lane"),
    )
    with op.batch_alter_table("processed_update") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch.create_index("ix_processed_update_chat", ["bot_id", "chat_id", "update_id"])
    with op.batch_alter_table("chat_state") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    # Updates journaled and not yet handled by the version before: their chat, from the
    # update itself, so the chat's lane finds them.
    if op.get_bind().dialect.name == "postgresql":
        chat = "CAST(payload ->> 'chat_id' AS BIGINT)"
    else:
        chat = "CAST(json_extract(payload, '$.chat_id') AS INTEGER)"
    op.execute(f"UPDATE processed_update SET chat_id = {chat} WHERE payload IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("chat_state") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("processed_update") as batch:
        batch.drop_index("ix_processed_update_chat")
        batch.drop_column("chat_id")
    op.drop_table("chat_lane")
