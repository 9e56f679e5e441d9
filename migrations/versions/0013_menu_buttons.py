"""menu buttons: what the bot set in each private chat

Revision ID: 0013_menu_buttons
Revises: 0012_web
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.models

revision = "0013_menu_buttons"
down_revision = "0012_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "menu_button",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("shown", sa.String(length=64), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("set_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "chat_id", name=op.f("pk_menu_button")),
    )


def downgrade() -> None:
    op.drop_table("menu_button")
