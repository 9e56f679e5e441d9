"""engineer replacement requests; cached KPI counts of closed quarters

Revision ID: 0007_contract
Revises: 0006_operations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision = "0007_contract"
down_revision = "0006_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replacement_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("successor_id", sa.Integer(), nullable=True),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("tickets_handed_over", sa.Integer(), nullable=False),
        sa.Column("plans_handed_over", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["person.id"], name="fk_replacement_request_engineer_id_person"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_replacement_request_site_id_site"),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["person.id"],
            name="fk_replacement_request_requested_by_id_person",
        ),
        sa.ForeignKeyConstraint(
            ["successor_id"], ["person.id"], name="fk_replacement_request_successor_id_person"
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["person.id"], name="fk_replacement_request_done_by_id_person"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_replacement_request"),
    )
    op.create_index(
        "ix_replacement_request_engineer_id", "replacement_request", ["engineer_id"], unique=False
    )
    op.create_index("ix_replacement_request_due_at", "replacement_request", ["due_at"])
    op.create_index(
        "ix_replacement_request_key", "replacement_request", ["request_key"], unique=True
    )
    op.create_table(
        "kpi_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("period_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", UTCDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.Column("audit_head", sa.BigInteger(), nullable=False),
        sa.Column("stale_after", UTCDateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kpi_snapshot"),
        sa.UniqueConstraint("key", name="uq_kpi_snapshot_key"),
    )


def downgrade() -> None:
    op.drop_table("kpi_snapshot")
    op.drop_index("ix_replacement_request_key", table_name="replacement_request")
    op.drop_index("ix_replacement_request_due_at", table_name="replacement_request")
    op.drop_index("ix_replacement_request_engineer_id", table_name="replacement_request")
    op.drop_table("replacement_request")
