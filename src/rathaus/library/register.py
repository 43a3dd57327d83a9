"""The library's part of the AI system register – see rathaus.core.system_facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.core.system_facts import ModelUse, SystemFacts
from rathaus.models.register import default_models


def system_facts(runtime: Any, session: Session) -> list[SystemFacts]:
    recommender = ModelUse(name="library-recommender", kind="recommender", provider="local", hosting="on-premises",
                           location="dieser Rechner / this machine")
    return [SystemFacts(
        id="library", kind="library", capability="library",
        title_de="Bibliothek: Leseempfehlungen", title_en="Library: reading recommendations",
        description="Readers get title recommendations learnt from pseudonymised loans and the catalogue.",
        models=(recommender, *default_models(runtime.catalog, chat=False)), data_classes=("personenbezogen",),
        safeguards=("reader ids pseudonymised", "readers may opt out", "retention of loans"),
        evaluations=("bench:library", "bench:library_serving"), use_cases=("library",),
    )]
