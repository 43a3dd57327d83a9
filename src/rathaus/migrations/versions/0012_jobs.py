"""Background jobs in PostgreSQL: procrastinate's schema (its tables, types and functions, from the installed
procrastinate's own SQL) and rathaus's ``job_progress`` (who asked, progress, result) next to it.

A later procrastinate release that changes its schema ships migration SQL files
(``procrastinate.schema.SchemaManager.get_migrations_path()``); apply them in a new revision of ours.

Revision ID: 0012_jobs
Revises: 0011_collection_names
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql

revision = "0012_jobs"
down_revision = "0011_collection_names"
branch_labels = None
depends_on = None

PROCRASTINATE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
                        "procrastinate_workers")
PROCRASTINATE_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")


def upgrade() -> None:
    # the schema is many statements with PL/pgSQL bodies: straight to the driver, no parameter parsing
    driver = op.get_bind().connection.driver_connection
    assert driver is not None  # a live psycopg connection inside the migration's transaction
    driver.execute(SchemaManager.get_schema())
    op.create_table(
        "job_progress",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("requested_by", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("done", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index("ix_job_progress_department", "job_progress", ["department"])


def downgrade() -> None:
    op.drop_index("ix_job_progress_department", table_name="job_progress")
    op.drop_table("job_progress")
    for table in PROCRASTINATE_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("""
        DO $$
        DECLARE f regprocedure;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE 'DROP FUNCTION ' || f || ' CASCADE';
            END LOOP;
        END $$;
    """)
    for type_ in PROCRASTINATE_TYPES:
        op.execute(f"DROP TYPE IF EXISTS {type_} CASCADE")
