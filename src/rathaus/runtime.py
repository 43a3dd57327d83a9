"""The running platform: settings, database, model catalogue, gateway, token verifier and job queue, wired once."""

from __future__ import annotations

import logging

from rathaus.core import capability
from rathaus.core.auth import TokenVerifier
from rathaus.core.db import Database
from rathaus.core.errors import ConfigError
from rathaus.core.jobs import JobQueue
from rathaus.core.settings import Settings, get_settings
from rathaus.migrations import upgrade
from rathaus.models.catalog import Catalog, load_catalog
from rathaus.models.gateway import Gateway

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings | None = None, *, migrate: bool = True):
        self.settings = settings or get_settings()
        self.settings.load_sections(capability.settings_sections())  # a bad RATHAUS_… value stops the start
        if self.settings.auth_mode == "local" and not self.settings.embedded_database:
            raise ConfigError(
                "local single-user mode is only allowed with the embedded database; "
                "set RATHAUS_AUTH_MODE=oidc for a shared database"
            )
        self.catalog: Catalog = load_catalog(self.settings.models_file)
        self.db = Database(self.settings)
        try:
            self.db.check()
            if migrate:
                upgrade(self.db.engine)
        except Exception:
            self.db.close()
            raise
        self.gateway = Gateway(self.settings, self.db, self.catalog)
        self.verifier = TokenVerifier(self.settings) if self.settings.auth_mode == "oidc" else None
        self.jobs = JobQueue(self.db, self.settings, capability.jobs())

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
