"""Library recommendations: catalogue items, pseudonymised loans and searches, opt-outs, import batches.

Revision ID: 0008_library
Revises: 0007_traffic
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0008_library"
down_revision = "0007_traffic"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "library_items",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("authors", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("isbn", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("subjects", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("description", sa.Text),
        sa.Column("age_group", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("import_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("age_group IS NULL OR age_group IN ('kinder', 'jugend', 'erwachsene')",
                           name="ck_library_item_age_group"),
    )
    op.create_table(
        "library_loans",
        sa.Column("reader_key", sa.Text, primary_key=True),
        sa.Column("item_id", sa.Text, sa.ForeignKey("library_items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("loaned_on", sa.Date, primary_key=True),
        sa.Column("import_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_library_loans_item_id", "library_loans", ["item_id"])
    op.create_index("ix_library_loans_loaned_on", "library_loans", ["loaned_on"])
    op.create_table(
        "library_searches",
        sa.Column("reader_key", sa.Text, primary_key=True),
        sa.Column("searched_on", sa.Date, primary_key=True),
        sa.Column("query", sa.Text, primary_key=True),
        sa.Column("import_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_library_searches_searched_on", "library_searches", ["searched_on"])
    op.create_table(
        "library_optouts",
        sa.Column("reader_key", sa.Text, primary_key=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "library_imports",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text),
        sa.Column("delimiter", sa.Text),
        sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stored", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("summary", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("problems", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("problems_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("seconds", sa.Float, nullable=False, server_default="0"),
        sa.CheckConstraint("kind IN ('catalogue-csv', 'catalogue-marc', 'loans', 'searches')",
                           name="ck_library_import_kind"),
    )
    op.create_index("ix_library_imports_sha256", "library_imports", ["sha256"])


def downgrade() -> None:
    for table in ("library_imports", "library_optouts", "library_searches", "library_loans", "library_items"):
        op.drop_table(table)
