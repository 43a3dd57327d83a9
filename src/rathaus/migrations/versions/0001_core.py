"""Platform core: API keys, budgets, metering, append-only audit log.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("roles", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("prefix", sa.Text, nullable=False, index=True),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", TS),
        sa.Column("last_used_at", TS),
    )
    op.create_table(
        "budget_limits",
        sa.Column("department", sa.Text, primary_key=True),
        sa.Column("eur_per_month", sa.Numeric(14, 4)),
        sa.Column("tokens_per_month", sa.BigInteger),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("eur_per_month IS NULL OR eur_per_month >= 0", name="ck_budget_eur_nonneg"),
        sa.CheckConstraint("tokens_per_month IS NULL OR tokens_per_month >= 0", name="ck_budget_tok_nonneg"),
    )
    op.create_table(
        "budget_usage",
        sa.Column("department", sa.Text, primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("eur_used", sa.Numeric(18, 8), nullable=False, server_default="0"),
        sa.Column("tokens_used", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("ts", TS, nullable=False, server_default=sa.func.now(), index=True),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("principal", sa.Text, nullable=False),
        sa.Column("principal_kind", sa.Text, nullable=False),
        sa.Column("use_case", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column("data_class", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("cost_eur", sa.Numeric(18, 8), nullable=False, server_default="0"),
        sa.Column("energy_wh", sa.Float, nullable=False, server_default="0"),
        sa.Column("gco2e", sa.Float, nullable=False, server_default="0"),
        sa.Column("cpu_seconds", sa.Float),
    )
    op.create_index("ix_usage_events_department_ts", "usage_events", ["department", "ts"])

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", TS, nullable=False, index=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("use_case", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("model_version", sa.Text),
        sa.Column("data_class", sa.Text),
        sa.Column("input_hash", sa.Text),
        sa.Column("output_hash", sa.Text),
        sa.Column("sources", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("safeguards", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("energy_wh", sa.Float),
        sa.Column("details", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("anchor_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("anchor_hash", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    # Append-only: UPDATE is always refused; DELETE only by the retention purge, which sets
    # rathaus.audit_purge for its own transaction. TRUNCATE is refused.
    op.execute(
        """
        CREATE FUNCTION audit_log_protect() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('rathaus.audit_purge', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_protect()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_protect()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_protect()")
    for table in ("audit_head", "audit_log", "usage_events", "budget_usage", "budget_limits", "api_keys"):
        op.drop_table(table)
