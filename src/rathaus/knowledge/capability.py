"""Declaration of the knowledge bases (collections, ingestion, hybrid search) – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command

CAPABILITY = Capability(
    name="knowledge",
    title="Wissenssammlungen / knowledge bases",
    description="collections, ingestion of files and web sites, hybrid search",
    commands=(
        Command("kb", "rathaus.commands.knowledge:kb_app"),
        Command("eval retrieval", "rathaus.commands.knowledge:eval_retrieval"),
    ),
    routers=("rathaus.api.routers.knowledge:router",),
    tables=("rathaus.knowledge.schema",),
)
