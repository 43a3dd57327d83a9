"""Alembic branch ``literacy`` (rathaus.literacy.schema)."""
