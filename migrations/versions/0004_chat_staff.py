"""site coordinates, verified arrivals, ticket threads, who added a photo

Revision ID: 0004_chat_staff
Revises: 0003_setup
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_chat_staff"
down_revision = "0003_setup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, CREATE TABLE and CREATE INDEX, but for ticket_photo (below).
    op.add_column("site", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("site", sa.Column("longitude", sa.Float(), nullable=True))
    op.add_column("site", sa.Column("arrival_radius_m", sa.Integer(), nullable=True))
    op.add_column("ticket", sa.Column("arrival_check", sa.String(length=16), nullable=True))
    op.add_column("ticket", sa.Column("arrival_distance_m", sa.Integer(), nullable=True))
    op.add_column("ticket", sa.Column("arrival_latitude", sa.Float(), nullable=True))
    op.add_column("ticket", sa.Column("arrival_longitude", sa.Float(), nullable=True))
    # SQLite cannot add a foreign key to an existing table: batch mode rebuilds this one.
    with op.batch_alter_table("ticket_photo") as batch_op:
        batch_op.add_column(sa.Column("added_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_ticket_photo_added_by_id_person", "person", ["added_by_id"], ["id"]
        )
    op.create_table(
        "ticket_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_file_id", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name="fk_ticket_note_author_id_person"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name="fk_ticket_note_ticket_id_ticket"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_note"),
    )
    op.create_index("ix_ticket_note_ticket_id", "ticket_note", ["ticket_id"])
    op.create_index("ix_ticket_note_request_key", "ticket_note", ["request_key"], unique=True)
    op.create_index("ix_outbox_recipient_message", "outbox", ["recipient_id", "message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_message", table_name="outbox")
    op.drop_index("ix_ticket_note_request_key", table_name="ticket_note")
    op.drop_index("ix_ticket_note_ticket_id", table_name="ticket_note")
    op.drop_table("ticket_note")
    with op.batch_alter_table("ticket_photo") as batch_op:
        batch_op.drop_constraint("fk_ticket_photo_added_by_id_person", type_="foreignkey")
        batch_op.drop_column("added_by_id")
    with op.batch_alter_table("ticket") as batch_op:
        for column in ("arrival_longitude", "arrival_latitude", "arrival_distance_m"):
            batch_op.drop_column(column)
        batch_op.drop_column("arrival_check")
    with op.batch_alter_table("site") as batch_op:
        for column in ("arrival_radius_m", "longitude", "latitude"):
            batch_op.drop_column(column)
