"""Which background jobs rathaus has: every capability's job declarations in one list (until the capability
registry lists them), and :func:`run_once`, every housekeeping job once in this process.

The jobs themselves live with their capability (``rathaus.<capability>.jobs``) and run in job workers
(rathaus.core.jobs): scheduled knowledge refresh, retention of chats, web sessions, library loans and audit
records, the library's retrain, audit checkpoints. Each runs on its own schedule and on its own: a failing
refresh does not keep expired chats alive.
"""

from __future__ import annotations

import logging
from typing import Any

from rathaus.core.auth import Principal
from rathaus.core.housekeeping import checkpoint_audit
from rathaus.core.jobs import Job

__all__ = ["checkpoint_audit", "declared_jobs", "periodic_jobs", "run_once"]

log = logging.getLogger(__name__)


def declared_jobs() -> list[Job]:
    """Every background job of the platform: the core's and each capability's (functions by import path, so
    nothing is imported until a job runs)."""
    from rathaus.core.housekeeping import JOBS as CORE

    return [*CORE, *CAPABILITY_JOBS]


#: per capability; the capability registry will take these over (Capability.jobs)
CAPABILITY_JOBS: tuple[Job, ...] = (
    # knowledge
    Job("knowledge.ingest", "rathaus.knowledge.jobs:ingest", lock="knowledge.collection:{collection_id}",
        description="Webseiten in eine Sammlung übernehmen / crawl and ingest web pages into a collection"),
    Job("knowledge.refresh", "rathaus.knowledge.jobs:refresh", every="*/10 * * * *",
        description="Fällige Web-Sammlungen auffrischen / refresh web collections that are due"),
    # assistants
    Job("assistants.purge_chats", "rathaus.assistants.jobs:purge_chats", every="5 * * * *",
        description="Abgelaufene Chats löschen / delete chats past their retention (RATHAUS_CHAT_RETENTION_DAYS)"),
    # library
    Job("library.train", "rathaus.library.jobs:train", unique=True, lock="library.train",
        description="Empfehlungsmodell trainieren / train the recommendation model"),
    Job("library.retrain", "rathaus.library.jobs:retrain", every="*/10 * * * *", lock="library.train",
        description="Empfehlungsmodell nachtrainieren, wenn fällig / retrain when due (RATHAUS_LIBRARY_RETRAIN_HOURS)"),
    Job("library.purge", "rathaus.library.jobs:purge", every="15 * * * *",
        description="Alte Ausleihen und Suchen löschen / loan and search retention "
                    "(RATHAUS_LIBRARY_LOAN_RETENTION_DAYS)"),
    # traffic
    Job("traffic.check", "rathaus.traffic.jobs:check", lock="traffic.pipeline",
        description="Zählwerte prüfen / plausibility checks of the stored counts"),
    Job("traffic.impute", "rathaus.traffic.jobs:impute", lock="traffic.pipeline",
        description="Lücken füllen / fill gaps in the stored counts"),
    # governance
    Job("governance.bias_eval", "rathaus.governance.jobs:evaluate_bias", lock="governance.bias_eval",
        description="Geschlechter-Bias eines Modells messen (GG-BBQ) / gender-bias evaluation of a model"),
)


def periodic_jobs() -> list[Job]:
    """The jobs with a schedule of their own."""
    return [job for job in declared_jobs() if job.every]


def run_once(runtime: Any, principal: Principal) -> dict[str, Any]:
    """The housekeeping jobs once, here and now (without the queue); what each did (or its error)."""
    from rathaus.assistants.jobs import purge_chats
    from rathaus.core.housekeeping import purge_sessions
    from rathaus.knowledge.jobs import refresh
    from rathaus.library.jobs import purge as purge_library
    from rathaus.library.jobs import retrain

    steps = {"refreshed": lambda: refresh(runtime, principal), "chats_deleted": lambda: purge_chats(runtime),
             "sessions_deleted": lambda: purge_sessions(runtime), "library_purged": lambda: purge_library(runtime),
             "library_trained": lambda: retrain(runtime)}
    done: dict[str, Any] = {}
    for key, step in steps.items():
        try:
            done[key] = step()
        except Exception as exc:  # one failing job must not stop the others
            log.exception("%s failed", key)
            done[key] = f"error: {type(exc).__name__}"
    return done
