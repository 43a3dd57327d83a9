"""Schema migrations with Alembic, run programmatically against rathaus's own engine.

The platform's chain lives in ``versions/`` (it also holds the history of the built-in capabilities' tables); a
capability that declares ``migrations`` (rathaus.core.capability) brings a branch of its own, which Alembic
upgrades together with the platform's chain (``heads``). The target metadata is every capability's tables.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from rathaus.core import capability

MIGRATIONS_DIR = Path(__file__).resolve().parent


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [str(MIGRATIONS_DIR / "versions"), *capability.migration_locations()]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    cfg = _config()
    with engine.begin() as conn:
        # Serialise concurrent upgrades of several processes starting at once.
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72616468)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The database's revision(s), ``+``-joined when capabilities bring branches of their own."""
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) or None


def head_revision() -> str | None:
    return "+".join(sorted(ScriptDirectory.from_config(_config()).get_heads())) or None


def is_current(engine: Engine) -> bool:
    """Every head (the platform's and each capability's branch) is applied, directly or as a dependency."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    script = ScriptDirectory.from_config(_config())
    applied = {rev.revision for rev in script.revision_map.iterate_revisions(current, "base")} if current else set()
    return set(script.get_heads()) <= applied
