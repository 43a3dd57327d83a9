"""Alembic revisions of governance's own tables (a branch of its own; see rathaus.core.capability)."""
