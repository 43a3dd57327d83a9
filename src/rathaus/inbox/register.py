"""The inbox's part of the AI system register – see rathaus.core.system_facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.core.system_facts import SystemFacts
from rathaus.inbox.intake import USE_CASE
from rathaus.models.register import default_models


def system_facts(runtime: Any, session: Session) -> list[SystemFacts]:
    return [SystemFacts(
        id="inbox", kind="inbox", capability="inbox",
        title_de="Posteingang: Einordnung, Datenübernahme, Antwortentwürfe",
        title_en="Inbox: routing, data extraction, reply drafts",
        description="Incoming requests are routed to a department, fields extracted, duplicates found and reply "
                    "drafts written; a case worker approves before anything leaves.",
        models=default_models(runtime.catalog), data_classes=("personenbezogen",),
        safeguards=("case worker approves every draft", "automatic answers only where a department allowed them",
                    "retention (RATHAUS_INBOX_RETENTION_DAYS)", "audit log"),
        evaluations=("bench:inbox", "bench:inbox_duplicates", "bench:inbox_replies"),
        use_cases=(USE_CASE, f"{USE_CASE}:%"),
    )]
