"""The application checks' tables: packets, guided applications, files.

Revision ID: checks_0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "checks_0001"
down_revision = None
branch_labels = ("checks",)
depends_on = "0012_jobs"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checks_packets",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("type_id", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="received", nullable=False),
        sa.Column("source", sa.Text(), server_default="upload", nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("language", sa.Text(), server_default="de", nullable=False),
        sa.Column("reference", sa.Text()),
        sa.Column("form", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("result", postgresql.JSONB()),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("checked_at", TS),
        sa.Column("confirmed_by", sa.Text()),
        sa.Column("confirmed_at", TS),
        sa.Column("confirmation_note", sa.Text()),
        sa.CheckConstraint("status IN ('received', 'checked', 'confirmed')", name="ck_checks_packet_status"),
        sa.CheckConstraint("source IN ('upload', 'api', 'dialogue')", name="ck_checks_packet_source"),
    )
    op.create_index("ix_checks_packets_department_status", "checks_packets", ["department", "status"])
    op.create_table(
        "checks_applications",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("type_id", sa.Text(), nullable=False),
        sa.Column("resume_code_hash", sa.Text(), nullable=False, unique=True),
        sa.Column("language", sa.Text(), server_default="de", nullable=False),
        sa.Column("values", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("step", sa.Text()),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("packet_id", sa.BigInteger(), sa.ForeignKey("checks_packets.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('open', 'submitted', 'expired')", name="ck_checks_application_status"),
    )
    op.create_table(
        "checks_files",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("packet_id", sa.BigInteger(), sa.ForeignKey("checks_packets.id", ondelete="CASCADE")),
        sa.Column("application_id", sa.BigInteger(), sa.ForeignKey("checks_applications.id", ondelete="CASCADE")),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("requirement", sa.Text()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("(packet_id IS NULL) <> (application_id IS NULL)", name="ck_checks_file_owner"),
    )
    op.create_index("ix_checks_files_packet", "checks_files", ["packet_id"])
    op.create_index("ix_checks_files_application", "checks_files", ["application_id"])


def downgrade() -> None:
    op.drop_table("checks_files")
    op.drop_table("checks_applications")
    op.drop_table("checks_packets")
