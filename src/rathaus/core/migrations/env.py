"""Alembic environment: runs against the connection rathaus hands in (embedded or external)."""

from alembic import context

import rathaus.assistants.schema
import rathaus.knowledge.schema  # noqa: F401  (registers the knowledge tables)
from rathaus.core.schema import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `rathaus db upgrade`")
run_migrations_online()
