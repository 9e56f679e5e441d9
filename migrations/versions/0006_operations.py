"""operations: the journal keyed by bot, instance heartbeats, indexes for retention

Revision ID: 0006_operations
Revises: 0005_chat_groups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.models

revision = "0006_operations"
down_revision = "0005_chat_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Update ids are numbered per bot: the journal's key becomes (bot, update). Rows
    # journaled before keep bot 0; the primary key changes, so SQLite rebuilds the table.
    with op.batch_alter_table("processed_update", recreate="always") as batch_op:
        batch_op.add_column(
            sa.Column("bot_id", sa.BigInteger(), nullable=False, server_default="0"),
            insert_before="update_id",
        )
        batch_op.drop_constraint("pk_processed_update", type_="primary")
        batch_op.create_primary_key("pk_processed_update", ["bot_id", "update_id"])
    with op.batch_alter_table("processed_update") as batch_op:
        batch_op.alter_column("bot_id", server_default=None)
    op.create_index("ix_processed_update_done_at", "processed_update", ["done_at"])
    op.create_index("ix_outbox_sent", "outbox", ["status", "sent_at"])
    op.create_table(
        "instance",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("started_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance")),
    )


def downgrade() -> None:
    op.drop_table("instance")
    op.drop_index("ix_outbox_sent", table_name="outbox")
    op.drop_index("ix_processed_update_done_at", table_name="processed_update")
    # Rows of other bots would collide on update id alone; only bot 0's and the newest
    # bot's rows could be kept, so the journal (recoverable state only) is emptied.
    op.execute("DELETE FROM processed_update")
    with op.batch_alter_table("processed_update", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_processed_update", type_="primary")
        batch_op.drop_column("bot_id")
        batch_op.create_primary_key("pk_processed_update", ["update_id"])
