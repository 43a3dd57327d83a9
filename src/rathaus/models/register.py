"""The model catalogue's part of the AI system register: one system per enabled model, and the catalogue facts
(version, checksum, hosting, location) every capability's systems cite for the models they use."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.core.system_facts import ModelUse, SystemFacts
from rathaus.models.catalog import Catalog


def model_use(catalog: Catalog, name: str) -> ModelUse:
    """The catalogue's facts of model ``name`` (``"auto"``: the default chat model); unknown: name only."""
    if name == "auto":
        name = catalog.defaults.chat
    spec = catalog.get(name)
    if spec is None:
        return ModelUse(name=name, kind="chat")
    return ModelUse(name=spec.name, kind=spec.kind, version=spec.version, sha256=spec.sha256, provider=spec.provider,
                    hosting=spec.hosting, location=spec.location)


def default_models(catalog: Catalog, chat: bool = True, embedding: bool = True) -> tuple[ModelUse, ...]:
    names = ([catalog.defaults.chat] if chat else []) + ([catalog.defaults.embedding] if embedding else [])
    return tuple(model_use(catalog, n) for n in names)


def system_facts(runtime: Any, session: Session) -> list[SystemFacts]:
    """Each enabled model of the catalogue as a system of its own (its usage is every call it served)."""
    catalog: Catalog = runtime.catalog
    return [
        SystemFacts(
            id=f"model:{spec.name}", kind="model", capability="platform",
            title_de=f"Modell {spec.name}", title_en=f"Model {spec.name}", description=spec.description,
            models=(model_use(catalog, spec.name),),
            data_classes=tuple(dc.value for dc in spec.data_classes),
            safeguards=("data-class routing", "budgets", "metering", "audit log"),
            evaluations=(f"bias:{spec.name}",) if spec.kind == "chat" else (),
            public=False,
        )
        for spec in catalog.enabled()
    ]
