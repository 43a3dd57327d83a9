"""Audit log: the retention purge only through a function owned by a separate role.

Before, any database session could ``SET LOCAL rathaus.audit_purge = 'on'`` and delete rows. Now the trigger lets
a DELETE through only when it runs as the role ``rathaus_audit_purger`` (NOLOGIN), i.e. inside the SECURITY
DEFINER function ``audit_purge(cutoff_seq)``, which deletes records up to ``cutoff_seq`` – never any younger than
183 days (EU AI Act: logs are kept at least six months) – and moves the chain's anchor. The application signs
a "purged up to n" checkpoint outside the database (rathaus.core.audit).

A database superuser (or the table owner) can still switch the trigger off; the signed checkpoints kept outside
the database are what make that visible to ``rathaus audit verify``.

Revision ID: 0009_audit_checkpoints
Revises: 0008_library
Create Date: 2026-12-07
"""

from alembic import op

revision = "0009_audit_checkpoints"
down_revision = "0008_library"
branch_labels = None
depends_on = None

PURGER = "rathaus_audit_purger"
MIN_AGE = "183 days"


def upgrade() -> None:
    op.execute(f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PURGER}') THEN
                CREATE ROLE {PURGER} NOLOGIN;
            END IF;
        EXCEPTION
            WHEN duplicate_object THEN NULL;  -- another database of this server created it at the same moment
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'rathaus needs the role {PURGER}: ask the database administrator to run '
                                '"CREATE ROLE {PURGER} NOLOGIN; GRANT {PURGER} TO %;" (see docs/operations.md)',
                                current_user;
        END $$;
    """)
    op.execute(f"""
        CREATE OR REPLACE FUNCTION audit_log_protect() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_user = '{PURGER}' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    op.execute(f"""
        CREATE FUNCTION audit_purge(cutoff_seq bigint) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            cutoff_ts timestamptz;
            cutoff_hash text;
            deleted bigint;
        BEGIN
            SELECT ts, hash INTO cutoff_ts, cutoff_hash FROM {{schema}}.audit_log WHERE seq = cutoff_seq;
            IF cutoff_hash IS NULL THEN
                RAISE EXCEPTION 'audit_purge: record % does not exist', cutoff_seq;
            END IF;
            IF cutoff_ts > now() - interval '{MIN_AGE}' THEN
                RAISE EXCEPTION 'audit_purge: record % is younger than {MIN_AGE} (EU AI Act: keep logs six months)',
                    cutoff_seq USING ERRCODE = 'insufficient_privilege';
            END IF;
            DELETE FROM {{schema}}.audit_log WHERE seq <= cutoff_seq;
            GET DIAGNOSTICS deleted = ROW_COUNT;
            UPDATE {{schema}}.audit_head SET anchor_seq = cutoff_seq, anchor_hash = cutoff_hash WHERE id = 1;
            RETURN deleted;
        END $$;
    """.replace("{schema}", _schema()))
    op.execute(f"ALTER FUNCTION audit_purge(bigint) OWNER TO {PURGER}")
    op.execute("REVOKE ALL ON FUNCTION audit_purge(bigint) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION audit_purge(bigint) TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA {_schema()} TO {PURGER}")
    op.execute(f"GRANT SELECT, DELETE ON audit_log TO {PURGER}")
    op.execute(f"GRANT SELECT, UPDATE ON audit_head TO {PURGER}")


def _schema() -> str:
    """The schema the tables live in (quoted), so the SECURITY DEFINER function names them exactly."""
    schema: str = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    return '"' + schema.replace('"', '""') + '"'


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS audit_purge(bigint)")
    op.execute(f"REVOKE ALL ON audit_log, audit_head FROM {PURGER}")
    op.execute(f"REVOKE ALL ON SCHEMA {_schema()} FROM {PURGER}")
    op.execute("""
        CREATE OR REPLACE FUNCTION audit_log_protect() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('rathaus.audit_purge', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
