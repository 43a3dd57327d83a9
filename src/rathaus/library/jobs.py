"""The library's background jobs: training the recommendation model (on demand and nightly), loan retention."""

from __future__ import annotations

import logging
from typing import Any

from rathaus.core.jobs import progress
from rathaus.library import privacy, training
from rathaus.library.settings import LibrarySettings

log = logging.getLogger(__name__)


def train(runtime: Any) -> dict[str, Any]:
    """Train on the stored loans and catalogue and make it the current model; the training report."""
    report = training.train(runtime, progress=lambda label, done, total: progress(done, total, label))
    log.info("library model %s trained (%d loans, %.1f s)", report.model_id, report.loans, report.seconds)
    return report.as_dict()


def retrain(runtime: Any) -> str | None:
    """Retrain when the newest model is older than RATHAUS_LIBRARY_RETRAIN_HOURS and loans are stored; the new
    model's id, or None when nothing was due."""
    hours = runtime.settings.section(LibrarySettings).library_retrain_hours
    if not hours:
        return None
    age = training.current_age_hours(runtime.settings)
    if age is not None and age < hours:
        return None
    with runtime.db.session() as session:
        if not training.has_loans(session):
            return None
    return str(train(runtime)["model_id"])


def purge(runtime: Any) -> int:
    """Delete loans and searches older than RATHAUS_LIBRARY_LOAN_RETENTION_DAYS; how many."""
    days = runtime.settings.section(LibrarySettings).library_loan_retention_days
    with runtime.db.session() as session:
        deleted = privacy.purge_expired(session, days)
    if deleted:
        log.info("retention: %d library loans/searches older than %d days deleted", deleted, days)
    return deleted

