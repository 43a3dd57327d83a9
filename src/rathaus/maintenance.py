""":func:`run_once`: every housekeeping job once, here and now, without the queue (for tests and operators).

The jobs are declared by each capability (rathaus.core.capability); their functions live with their capability
(``rathaus.<capability>.jobs``) and run in job workers
(rathaus.core.jobs): scheduled knowledge refresh, retention of chats, web sessions, library loans and audit
records, the library's retrain, audit checkpoints. Each runs on its own schedule and on its own: a failing
refresh does not keep expired chats alive.
"""

from __future__ import annotations

import logging
from typing import Any

from rathaus.core.auth import Principal
from rathaus.core.housekeeping import checkpoint_audit

__all__ = ["checkpoint_audit", "run_once"]

log = logging.getLogger(__name__)


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
