"""The assistants' part of the AI system register: citizen assistants (YAML), published own assistants and the
writing tools of the workspace – see rathaus.core.system_facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rathaus.assistants import custom
from rathaus.assistants.definitions import Assistant, load_assistants
from rathaus.core.system_facts import SystemFacts
from rathaus.models.catalog import Catalog
from rathaus.models.register import model_use
from rathaus.safety.policy import SafetyPolicy

ASSISTANT_EVALUATIONS = ("bench:retrieval", "bench:answers", "bench:guard", "bench:injection", "bench:pii")


def safeguard_names(policy: SafetyPolicy) -> tuple[str, ...]:
    """The active safeguards of a safety policy in words (``personal_data: pseudonymise`` …)."""
    return tuple(f"{key}: {value.value if hasattr(value, 'value') else value}"
                 for key, value in policy.model_dump().items() if value not in (None, False))


def citizen_assistant(a: Assistant, catalog: Catalog) -> SystemFacts:
    return SystemFacts(
        id=f"assistant:{a.name}", kind="assistant", capability="assistants",
        title_de=a.title.get("de") or a.name, title_en=a.title.get("en") or a.title.get("de") or a.name,
        description=a.persona[:500], department=a.department,
        models=(model_use(catalog, a.model), model_use(catalog, catalog.defaults.embedding)),
        data_classes=(a.data_class.value,),
        safeguards=("answers only from cited sources", "abstains without evidence", *safeguard_names(a.safeguards)),
        annex_iii=a.annex_iii, annex_iii_confirmed=True if a.annex_iii else None,
        confirmed_by="definition file (config/assistants)" if a.annex_iii else None,
        evaluations=(*ASSISTANT_EVALUATIONS, f"bias:{a.name}"), use_cases=(f"assistant:{a.name}",), public=a.public,
    )


def own_assistant(a: Any, catalog: Catalog) -> SystemFacts:
    areas = [x.get("area") for x in (a.screening or {}).get("areas", [])]
    area = ", ".join(str(x) for x in areas if x) or None
    return SystemFacts(
        id=f"own-assistant:{a.id}", kind="own-assistant", capability="assistants",
        title_de=f"Eigener Assistent „{a.name}“", title_en=f"Own assistant “{a.name}”",
        description=a.description[:500], department=a.department, models=(model_use(catalog, a.model),),
        data_classes=(a.data_class,),
        safeguards=("AI Act screening before publishing", *safeguard_names(custom.policy(a) or SafetyPolicy())),
        annex_iii=area, annex_iii_confirmed=(a.confirmed_by is not None) if area else None,
        confirmed_by=a.confirmed_by, confirmed_at=a.confirmed_at.isoformat() if a.confirmed_at else None,
        public=False,  # no use_cases: its calls are metered as "chat" with the workspace's, not separable
    )


def writing_tools(catalog: Catalog) -> SystemFacts:
    return SystemFacts(
        id="writing-tools", kind="writing-tools", capability="assistants",
        title_de="Schreibwerkzeuge und Chat im Arbeitsbereich", title_en="Writing tools and chat in the workspace",
        description="Staff translate, draft, summarise and brainstorm; the tools check numbers, names and outline.",
        models=(model_use(catalog, "auto"),), data_classes=("oeffentlich", "intern", "vertraulich", "personenbezogen"),
        safeguards=("data-class routing", "personal data pseudonymised", "content guard", "checks of numbers and "
                    "names in the output"),
        evaluations=("bench:writing_tools", "bench:writing", "bench:web_chat"), use_cases=("chat", "tool:%"),
    )


def system_facts(runtime: Any, session: Session) -> list[SystemFacts]:
    catalog: Catalog = runtime.catalog
    found = [citizen_assistant(a, catalog) for a in load_assistants().values()]
    found.append(writing_tools(catalog))
    found.extend(own_assistant(a, catalog) for a in custom.published(session))
    return found
