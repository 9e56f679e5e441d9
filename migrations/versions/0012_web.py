"""web console: one-time login links

Revision ID: 0012_web
Revises: 0007_contract
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.models

revision = "0012_web"
down_revision = "0011_steps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_web_login_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_login")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_login_token_hash")),
    )
    op.create_index(op.f("ix_web_login_person_id"), "web_login", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_login_person_id"), table_name="web_login")
    op.drop_table("web_login")
