"""Declaration of the knowledge bases (collections, ingestion, hybrid search) – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job

CAPABILITY = Capability(
    name="knowledge",
    title="Wissenssammlungen / knowledge bases",
    description="collections, ingestion of files and web sites, hybrid search",
    commands=(
        Command("kb", "rathaus.commands.knowledge:kb_app"),
        Command("eval retrieval", "rathaus.commands.knowledge:eval_retrieval"),
    ),
    routers=("rathaus.api.routers.knowledge:router",),
    settings="rathaus.knowledge.settings:KnowledgeSettings",
    tables=("rathaus.knowledge.schema",),
    jobs=(
        Job("knowledge.ingest", "rathaus.knowledge.jobs:ingest", lock="knowledge.collection:{collection_id}",
            description="Webseiten in eine Sammlung übernehmen / crawl and ingest web pages into a collection"),
        Job("knowledge.refresh", "rathaus.knowledge.jobs:refresh", every="*/10 * * * *",
            description="Fällige Web-Sammlungen auffrischen / refresh web collections that are due"),
    ),
)
