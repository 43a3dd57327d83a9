"""Alembic environment: runs against the connection rathaus hands in (embedded or external), with every
capability's tables as the target metadata."""

from alembic import context

from rathaus.core import capability
from rathaus.core.jobs.declare import owned_by_rathaus

target_metadata = capability.load_tables()


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    # procrastinate's tables (migration 0012, from its own SQL) are not rathaus's models: autogenerate leaves them
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      include_name=owned_by_rathaus)  # type: ignore[arg-type]  # alembic's Literal names
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `rathaus db upgrade`")
run_migrations_online()
