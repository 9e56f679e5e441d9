"""a site's alert group (a Telegram group where its escalation alerts are also posted);
the engineer's expected arrival time on a ticket; people registered from a group are
told in their private chat from now on

Revision ID: 0005_chat_groups
Revises: 0004_chat_staff
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.models

revision = "0005_chat_groups"
down_revision = "0004_chat_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: no table rebuild on SQLite.
    op.add_column("site", sa.Column("alert_chat_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "ticket",
        sa.Column("expected_arrival_at", core.models.UTCDateTime(timezone=True), nullable=True),
    )
    # An invitation opened in a group used to register the person with the group's chat
    # id, so their private notices went to the group. A private chat's id is the user's
    # id: send there (if they never opened it, delivery fails and is retried, instead of
    # posting their tickets where others read them).
    op.execute(
        "UPDATE person SET chat_id = telegram_user_id "
        "WHERE telegram_user_id IS NOT NULL AND chat_id IS NOT NULL "
        "AND chat_id <> telegram_user_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch_op:
        batch_op.drop_column("expected_arrival_at")
    with op.batch_alter_table("site") as batch_op:
        batch_op.drop_column("alert_chat_id")
