"""The application checks' part of the AI system register – see rathaus.core.system_facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.checks.service import USE_CASE
from rathaus.core.system_facts import ModelUse, SystemFacts
from rathaus.models.register import default_models


def system_facts(runtime: Any, session: Session) -> list[SystemFacts]:
    ocr = ModelUse(name="tesseract", kind="ocr", provider="local", hosting="on-premises",
                   location="dieser Rechner / this machine")
    return [SystemFacts(
        id="checks", kind="checks", capability="checks",
        title_de="Antragsprüfung: Vollständigkeit und Plausibilität",
        title_en="Application checks: completeness and plausibility",
        description="Uploaded application documents are read (OCR) and checked against the rules of the "
                    "application type; a case worker confirms the result.",
        models=(*default_models(runtime.catalog, embedding=False), ocr), data_classes=("personenbezogen",),
        safeguards=("rules decide, the model only reads", "case worker confirms", "audit log"),
        evaluations=("bench:checks", "bench:checks_mrz"), use_cases=(USE_CASE, f"{USE_CASE}:%", f"{USE_CASE}.%"),
    )]
