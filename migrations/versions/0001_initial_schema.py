"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.models
from core.audit import GENESIS_HASH, HEAD_ID
from core.schema import audit_trigger_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_action_at", ["action", "at"], unique=False)
        batch_op.create_index("ix_audit_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "chat_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("dialog", sa.String(length=48), nullable=False),
        sa.Column("step", sa.String(length=48), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_state")),
        sa.UniqueConstraint("chat_id", "user_id", name=op.f("uq_chat_state_chat_id")),
    )
    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_processed_update")),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("service_hours", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("code", name=op.f("uq_site_code")),
    )
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_department_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_department_site_id")),
    )
    op.create_table(
        "report_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_report_run_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_run")),
        sa.UniqueConstraint("key", name=op.f("uq_report_run_key")),
    )
    op.create_table(
        "survey_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_survey_round_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_round")),
        sa.UniqueConstraint("period", "site_id", name=op.f("uq_survey_round_period")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "staff",
                "engineer",
                "dispatcher",
                "manager",
                "admin",
                name="role",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("backup_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["person.id"], name=op.f("fk_person_backup_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_person_department_id_department")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_person_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_person_telegram_user_id")),
    )
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "pc",
                "laptop",
                "printer",
                "scanner",
                "projector",
                "tv",
                "microphone",
                "conference_terminal",
                "amplifier",
                "central_control",
                "other",
                name="assetkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("brand", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("monitor_serial", sa.String(length=100), nullable=False),
        sa.Column("warranty_until", sa.Date(), nullable=True),
        sa.Column("manufactured_on", sa.Date(), nullable=True),
        sa.Column("health", sa.String(length=100), nullable=False),
        sa.Column("hardware_config", sa.Text(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("subnet_mask", sa.String(length=64), nullable=False),
        sa.Column("os", sa.String(length=100), nullable=False),
        sa.Column("antivirus", sa.String(length=100), nullable=False),
        sa.Column("office_software", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_asset_department_id_department")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_asset_site_id_site")),
        sa.ForeignKeyConstraint(["user_id"], ["person.id"], name=op.f("fk_asset_user_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
        sa.UniqueConstraint("tag", name=op.f("uq_asset_tag")),
    )
    op.create_table(
        "inspection_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("asset_kinds", sa.JSON(), nullable=False),
        sa.Column("notice_working_days", sa.Integer(), nullable=False),
        sa.Column("report_working_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["person.id"], name=op.f("fk_inspection_plan_engineer_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_inspection_plan_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plan")),
        sa.UniqueConstraint("code", name=op.f("uq_inspection_plan_code")),
    )
    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "staff",
                "engineer",
                "dispatcher",
                "manager",
                "admin",
                name="role",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_invite_created_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_invite_department_id_department")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_invite_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite")),
        sa.UniqueConstraint("code", name=op.f("uq_invite_code")),
    )
    op.create_table(
        "survey_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_survey_response_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_survey_response_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["survey_round.id"], name=op.f("fk_survey_response_round_id_survey_round")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_response")),
        sa.UniqueConstraint("round_id", "person_id", name=op.f("uq_survey_response_round_id")),
    )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_response_round_id"), ["round_id"], unique=False)

    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column("starts_on", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("announced_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("report_due_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["person.id"], name=op.f("fk_inspection_engineer_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["inspection_plan.id"], name=op.f("fk_inspection_plan_id_inspection_plan")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_inspection_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
        sa.UniqueConstraint("plan_id", "period", name=op.f("uq_inspection_plan_id")),
    )
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column(
            "asset_kind",
            sa.Enum(
                "pc",
                "laptop",
                "printer",
                "scanner",
                "projector",
                "tv",
                "microphone",
                "conference_terminal",
                "amplifier",
                "central_control",
                "other",
                name="assetkind",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("symptom", sa.Text(), nullable=False),
        sa.Column(
            "impact",
            sa.Enum(
                "business_stopped",
                "cannot_work",
                "degraded",
                "intermittent",
                name="impact",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("initial_severity", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "hardware_fault",
                "software_fault",
                "hardware_install",
                "network",
                "no_fault",
                "other",
                name="servicetype",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "assigned",
                "acknowledged",
                "en_route",
                "on_site",
                "paused",
                "restored",
                "resolved",
                "closed",
                "reopened",
                "cancelled",
                name="ticketstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "paused_from",
            sa.Enum(
                "reported",
                "assigned",
                "acknowledged",
                "en_route",
                "on_site",
                "paused",
                "restored",
                "resolved",
                "closed",
                "reopened",
                "cancelled",
                name="ticketstatus",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("dispatcher_id", sa.Integer(), nullable=True),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("service_hours", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("reported_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("departed_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("promised_arrival_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("restored_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("second_visit_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("repeat_of_id", sa.Integer(), nullable=True),
        sa.Column("fix_confirmed", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], name=op.f("fk_ticket_asset_id_asset")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["person.id"], name=op.f("fk_ticket_assignee_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_ticket_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["dispatcher_id"], ["person.id"], name=op.f("fk_ticket_dispatcher_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["repeat_of_id"], ["ticket.id"], name=op.f("fk_ticket_repeat_of_id_ticket")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["person.id"], name=op.f("fk_ticket_reporter_id_person")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_ticket_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_asset_reported",
            ["asset_id", "reported_at", "category", "remote"],
            unique=False,
        )
        batch_op.create_index("ix_ticket_assignee_status", ["assignee_id", "status"], unique=False)
        batch_op.create_index(
            "ix_ticket_reported_at", ["reported_at", "category", "remote", "asset_id"], unique=False
        )
        batch_op.create_index("ix_ticket_reporter_status", ["reporter_id", "status"], unique=False)
        batch_op.create_index("ix_ticket_status_site", ["status", "site_id"], unique=False)

    op.create_table(
        "backup_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["person.id"], name=op.f("fk_backup_consent_answered_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["person.id"],
            name=op.f("fk_backup_consent_requested_by_id_person"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_backup_consent_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_consent")),
    )
    with op.batch_alter_table("backup_consent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backup_consent_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "confirmed",
                "answered",
                name="complaintstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("received_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["person.id"], name=op.f("fk_complaint_reporter_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_complaint_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
    )
    op.create_table(
        "due_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("due_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "done", "cancelled", name="workstatus", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_due_work_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_work")),
        sa.UniqueConstraint("key", name=op.f("uq_due_work_key")),
    )
    with op.batch_alter_table("due_work", schema=None) as batch_op:
        batch_op.create_index("ix_due_work_pending", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_due_work_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "false_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("found_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("found_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["found_by_id"], ["person.id"], name=op.f("fk_false_report_found_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_false_report_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_false_report")),
    )
    op.create_table(
        "inspection_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("consumables", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("checked_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_inspection_item_asset_id_asset")
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"], ["person.id"], name=op.f("fk_inspection_item_checked_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_inspection_item_inspection_id_inspection"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_inspection_item_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_item")),
        sa.UniqueConstraint(
            "inspection_id", "asset_id", name=op.f("uq_inspection_item_inspection_id")
        ),
    )
    with op.batch_alter_table("inspection_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_item_inspection_id"), ["inspection_id"], unique=False
        )

    op.create_table(
        "page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("step_key", sa.String(length=160), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["person.id"], name=op.f("fk_page_acknowledged_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["person.id"], name=op.f("fk_page_recipient_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_page_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page")),
    )
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.create_index("ix_page_open", ["acknowledged_at", "recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_page_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("started_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["person.id"], name=op.f("fk_pause_ended_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["person.id"], name=op.f("fk_pause_started_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_pause_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pause")),
    )
    with op.batch_alter_table("pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pause_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("standard", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("attitude", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["person.id"], name=op.f("fk_rating_rater_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_rating_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating")),
        sa.UniqueConstraint("ticket_id", "cycle", name=op.f("uq_rating_ticket_id")),
    )
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.create_index("ix_rating_rated_at", ["rated_at", "score"], unique=False)
        batch_op.create_index(batch_op.f("ix_rating_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "resolution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("engineer_id", sa.Integer(), nullable=True),
        sa.Column(
            "service_type",
            sa.Enum(
                "hardware_fault",
                "software_fault",
                "hardware_install",
                "network",
                "no_fault",
                "other",
                name="servicetype",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("under_warranty", sa.Boolean(), nullable=False),
        sa.Column("charged", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column(
            "result",
            sa.Enum(
                "fixed_on_site",
                "taken_back",
                "second_visit",
                "fixed_remotely",
                name="serviceresult",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("second_visit_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("parts_replaced", sa.Text(), nullable=False),
        sa.Column("spare_lent", sa.Boolean(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.Column("completed_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engineer_id"], ["person.id"], name=op.f("fk_resolution_engineer_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_resolution_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolution")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_resolution_ticket_id")),
    )
    op.create_table(
        "sla_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("started_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.String(length=32), nullable=False),
        sa.Column("paused_seconds", sa.Float(), nullable=False),
        sa.Column("paused_since", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("breached_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_sla_clock_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clock")),
        sa.UniqueConstraint("ticket_id", "kind", "cycle", name=op.f("uq_sla_clock_ticket_id")),
    )
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_clock_kind_started",
            ["kind", "started_at", "cancelled", "stopped_at", "met", "breached_at", "due_at"],
            unique=False,
        )

    op.create_table(
        "spare_loan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("lent_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_back_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("returned_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_spare_loan_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spare_loan")),
    )
    with op.batch_alter_table("spare_loan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spare_loan_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=256), nullable=False),
        sa.Column("added_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_photo_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_photo")),
    )
    with op.batch_alter_table("ticket_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_photo_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "sent", "failed", name="outboxstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("available_at", core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name=op.f("fk_outbox_page_id_page")),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["person.id"], name=op.f("fk_outbox_recipient_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_outbox_ticket_id_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["status", "available_at"], unique=False)

    # The audit log is append-only (triggers) and its chain starts at the genesis head row.
    for statement in audit_trigger_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.execute(
        sa.text(
            "INSERT INTO audit_head (id, last_id, last_hash) VALUES (:id, 0, :hash)"
        ).bindparams(id=HEAD_ID, hash=GENESIS_HASH)
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    with op.batch_alter_table("ticket_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_photo_ticket_id"))

    op.drop_table("ticket_photo")
    with op.batch_alter_table("spare_loan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spare_loan_ticket_id"))

    op.drop_table("spare_loan")
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_clock_kind_started")

    op.drop_table("sla_clock")
    op.drop_table("resolution")
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_ticket_id"))
        batch_op.drop_index("ix_rating_rated_at")

    op.drop_table("rating")
    with op.batch_alter_table("pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pause_ticket_id"))

    op.drop_table("pause")
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_ticket_id"))
        batch_op.drop_index("ix_page_open")

    op.drop_table("page")
    with op.batch_alter_table("inspection_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_item_inspection_id"))

    op.drop_table("inspection_item")
    op.drop_table("false_report")
    with op.batch_alter_table("due_work", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_due_work_ticket_id"))
        batch_op.drop_index("ix_due_work_pending")

    op.drop_table("due_work")
    op.drop_table("complaint")
    with op.batch_alter_table("backup_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_consent_ticket_id"))

    op.drop_table("backup_consent")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_status_site")
        batch_op.drop_index("ix_ticket_reporter_status")
        batch_op.drop_index("ix_ticket_reported_at")
        batch_op.drop_index("ix_ticket_assignee_status")
        batch_op.drop_index("ix_ticket_asset_reported")

    op.drop_table("ticket")
    op.drop_table("inspection")
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_response_round_id"))

    op.drop_table("survey_response")
    op.drop_table("invite")
    op.drop_table("inspection_plan")
    op.drop_table("asset")
    op.drop_table("person")
    op.drop_table("survey_round")
    op.drop_table("report_run")
    op.drop_table("department")
    op.drop_table("site")
    op.drop_table("processed_update")
    op.drop_table("chat_state")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entity")
        batch_op.drop_index("ix_audit_action_at")

    op.drop_table("audit_event")
