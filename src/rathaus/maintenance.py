"""The background job of ``rathaus up``/``serve``: scheduled knowledge refresh and retention.

Every ``interval`` seconds it refreshes due collections, deletes chats (with their uploaded documents,
chunks and vectors) untouched for ``chat_retention_days``, removes expired web sessions and library loans and
searches older than ``library_loan_retention_days`` and retrains the library's recommendation model when the
newest one is older than ``library_retrain_hours`` (0: never) and loans are stored. Every
``audit_checkpoint_seconds`` it signs a checkpoint of the audit chain's head (rathaus.core.audit). Each step
runs on its own: a failing refresh does not keep expired chats alive.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from rathaus.assistants import chats
from rathaus.core import audit, sessions
from rathaus.core.auth import Principal
from rathaus.knowledge.refresh import refresh_due
from rathaus.library import privacy as library_privacy
from rathaus.library import training as library_training

log = logging.getLogger(__name__)


def checkpoint_audit(runtime: Any) -> str | None:
    """Sign a checkpoint of the audit chain's head when it moved; what happened, for the log and tests."""
    config = runtime.gateway.audit
    if config.key is None:
        return None
    with runtime.db.session() as session:
        outcome = audit.checkpoint(session, config)
    if isinstance(outcome, audit.VerifyResult):
        return f"tampered: {len(outcome.problems)} problem(s)"
    return None if outcome is None else f"signed {outcome.seq}"


def run_once(runtime: Any, principal: Principal) -> dict[str, Any]:
    """One round of all jobs; returns what each did (or its error)."""
    done: dict[str, Any] = {}
    try:
        done["refreshed"] = refresh_due(runtime, principal)
    except Exception as exc:  # one failing job must not stop the others
        log.exception("scheduled refresh failed")
        done["refreshed"] = f"error: {type(exc).__name__}"
    try:
        with runtime.db.session() as session:
            done["chats_deleted"] = chats.purge_expired(session, runtime.settings.chat_retention_days)
            done["sessions_deleted"] = sessions.purge_expired(session)
        if done["chats_deleted"]:
            log.info("retention: %d chats older than %d days deleted", done["chats_deleted"],
                     runtime.settings.chat_retention_days)
    except Exception as exc:
        log.exception("retention job failed")
        done["chats_deleted"] = f"error: {type(exc).__name__}"
    try:
        with runtime.db.session() as session:
            done["library_purged"] = library_privacy.purge_expired(session,
                                                                   runtime.settings.library_loan_retention_days)
        if done["library_purged"]:
            log.info("retention: %d library loans/searches older than %d days deleted", done["library_purged"],
                     runtime.settings.library_loan_retention_days)
    except Exception as exc:
        log.exception("library retention job failed")
        done["library_purged"] = f"error: {type(exc).__name__}"
    try:
        done["library_trained"] = _retrain_library(runtime)
    except Exception as exc:
        log.exception("library retrain failed")
        done["library_trained"] = f"error: {type(exc).__name__}"
    return done


def _retrain_library(runtime: Any) -> str | None:
    """Retrain when the newest model is older than ``library_retrain_hours`` and there are loans; the new
    model's id, or None when nothing was due."""
    hours = runtime.settings.library_retrain_hours
    if not hours:
        return None
    age = library_training.current_age_hours(runtime.settings)
    if age is not None and age < hours:
        return None
    with runtime.db.session() as session:
        if not library_training.has_loans(session):
            return None
    report = library_training.train(runtime)
    log.info("library model %s retrained (%d loans, %.1f s)", report.model_id, report.loans, report.seconds)
    return report.model_id


class Maintenance:
    """Background thread running :func:`run_once` every ``interval`` seconds (first run after one interval) and
    signing audit checkpoints every ``audit_checkpoint_seconds``."""

    def __init__(self, runtime: Any, principal: Principal, interval: float = 600.0):
        self.runtime, self.principal, self.interval = runtime, principal, interval
        self.checkpoint_interval = min(interval, runtime.settings.audit_checkpoint_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        next_round = time.monotonic() + self.interval
        while not self._stop.wait(self.checkpoint_interval):
            try:
                checkpoint_audit(self.runtime)
            except Exception:  # a full disk must not end the other jobs
                log.exception("audit checkpoint failed")
            if time.monotonic() >= next_round:
                run_once(self.runtime, self.principal)
                next_round = time.monotonic() + self.interval
