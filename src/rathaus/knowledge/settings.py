"""Settings of the knowledge bases, a section of the platform's settings:
``runtime.settings.section(KnowledgeSettings)``."""

from __future__ import annotations

from pydantic import Field

from rathaus.core.settings import SettingsSection


class KnowledgeSettings(SettingsSection):
    knowledge_search_threads: int = Field(
        default=32, ge=0, le=256,
        description="Threads that run the searches of the HTTP API (GET /api/v1/search) at the same time; more "
                    "searches wait for one of them without holding a thread. Apart from the server's shared pool, "
                    "so searches never take the threads of pages and other endpoints, and few enough that the "
                    "event loop (/healthz) is not starved of the interpreter; keep RATHAUS_DATABASE_POOL_SIZE at least "
                    "as large. 0: in the shared pool (as before issue 19).",
    )
