"""Declaration of the assistants (employee assistant, citizen assistants, own assistants) – see
rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="assistants",
    title="Assistenten / assistants",
    settings="rathaus.assistants.settings:AssistantsSettings",
    strings="rathaus.assistants.strings:STRINGS",
    description="employee assistant with writing tools, citizen assistants with sources, own assistants",
    register="rathaus.assistants.register:system_facts",
    commands=(
        Command("assistants", "rathaus.commands.assistants:assistants_app"),
        Command("ask", "rathaus.commands.assistants:ask"),
        Command("eval answers", "rathaus.commands.assistants:eval_answers"),
        Command("eval thresholds", "rathaus.commands.assistants:eval_thresholds"),
    ),
    routers=(
        "rathaus.api.routers.assistants:router",
        "rathaus.api.routers.chats:router",
        "rathaus.web.workspace:router",
    ),
    tables=("rathaus.assistants.schema", "rathaus.assistants.chat_schema"),
    pages=(
        Page("/chat", "Chat", "Chat", order=10),
        Page("/assistants", "Meine Assistenten", "My assistants", order=20),
    ),
    jobs=(
        Job("assistants.purge_chats", "rathaus.assistants.jobs:purge_chats", every="5 * * * *",
            description="Abgelaufene Chats löschen / delete chats past their retention (RATHAUS_CHAT_RETENTION_DAYS)"),
    ),
)
