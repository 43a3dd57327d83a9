"""The tiny capability's own Alembic branch."""
