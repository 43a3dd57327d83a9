"""Alembic branch ``checks`` (rathaus.checks.schema)."""
