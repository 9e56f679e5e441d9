"""keep each update until it is handled; a request key on tickets and complaints

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: no table rebuild on SQLite.
    op.add_column("processed_update", sa.Column("payload", sa.JSON(), nullable=True))
    op.add_column("ticket", sa.Column("request_key", sa.String(length=64), nullable=True))
    op.create_index("ix_ticket_request_key", "ticket", ["request_key"], unique=True)
    op.add_column("complaint", sa.Column("request_key", sa.String(length=64), nullable=True))
    op.create_index("ix_complaint_request_key", "complaint", ["request_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_complaint_request_key", table_name="complaint")
    with op.batch_alter_table("complaint") as batch_op:
        batch_op.drop_column("request_key")
    op.drop_index("ix_ticket_request_key", table_name="ticket")
    with op.batch_alter_table("ticket") as batch_op:
        batch_op.drop_column("request_key")
    with op.batch_alter_table("processed_update") as batch_op:
        batch_op.drop_column("payload")
