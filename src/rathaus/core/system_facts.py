"""What the platform itself knows about each AI system it runs, for the AI system register.

Every capability may name a provider ``(runtime, session) -> list[SystemFacts]`` in its declaration
(``Capability.register``); :func:`rathaus.core.capability.system_facts` asks all of them. The governance
capability combines these facts with what people enter (purpose, owner, oversight …) – it never imports
another capability to learn them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelUse:
    """One model a system uses, as the model catalogue describes it."""

    name: str
    kind: str  # chat | embedding | other (OCR, a trained recommender …)
    version: str | None = None
    sha256: str | None = None
    provider: str | None = None  # embedded | openai | local
    hosting: str | None = None  # on-premises | city-data-centre | eu-cloud | non-eu-cloud
    location: str | None = None


@dataclass(frozen=True)
class SystemFacts:
    """The facts of one AI system (a use case) the platform can state without asking anybody.

    ``id`` is stable (``assistant:buergerservice``, ``inbox``, ``model:qwen2.5-coder-1.5b``); ``use_cases`` are
    the ``usage_events.use_case`` values (SQL LIKE patterns) that meter it; ``evaluations`` name stored evaluation
    results (``bench:retrieval`` → bench/results/retrieval.json, ``bias:<subject>`` → bias_eval_runs).
    """

    id: str
    kind: str
    title_de: str
    title_en: str
    capability: str
    description: str = ""
    department: str | None = None
    models: tuple[ModelUse, ...] = ()
    data_classes: tuple[str, ...] = ()
    safeguards: tuple[str, ...] = ()
    annex_iii: str | None = None  # EU AI Act Annex III area, if the system is high risk
    annex_iii_confirmed: bool | None = None  # None: not high risk
    confirmed_by: str | None = None
    confirmed_at: str | None = None
    evaluations: tuple[str, ...] = ()
    use_cases: tuple[str, ...] = ()
    public: bool = True  # may appear in the public register (people's entry decides in the end)

    @property
    def high_risk(self) -> bool:
        return self.annex_iii is not None

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["high_risk"] = self.high_risk
        return data

