"""Declaration of input management – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="inbox",
    title="Posteingang / inbox",
    description="incoming requests routed, extracted, de-duplicated and answered with drafts a case worker approves",
    register="rathaus.inbox.register:system_facts",
    settings="rathaus.inbox.settings:InboxSettings",
    commands=(Command("inbox", "rathaus.commands.inbox:inbox_app"),),
    routers=("rathaus.api.routers.inbox:router", "rathaus.web.inbox:router", "rathaus.web.contact_form:router"),
    tables=("rathaus.inbox.schema",),
    migrations="rathaus.inbox.migrations",
    strings="rathaus.inbox.strings:STRINGS",
    pages=(Page("/inbox", "Posteingang", "Inbox", order=35),),
    jobs=(
        Job("inbox.process", "rathaus.inbox.jobs:process", lock="inbox.message:{message_id}",
            description="Nachricht einordnen, Daten übernehmen, Dubletten finden / route, extract, find duplicates"),
        Job("inbox.zammad_update", "rathaus.inbox.jobs:zammad_update", lock="inbox.message:{message_id}",
            description="Ergebnis an Zammad zurückschreiben / write the result back to the Zammad ticket"),
        Job("inbox.auto_answer", "rathaus.inbox.jobs:auto_answer", lock="inbox.message:{message_id}",
            description="Automatische Antwort, wo erlaubt / automatic answer where a department allowed it"),
        Job("inbox.export", "rathaus.inbox.jobs:export", lock="inbox.message:{message_id}",
            description="Daten ins Fachverfahren übernehmen / send the reviewed data to the specialist procedure"),
        Job("inbox.sweep", "rathaus.inbox.jobs:sweep", every="* * * * *",
            description="Liegengebliebene Nachrichten verarbeiten / process messages whose job was lost"),
        Job("inbox.fetch", "rathaus.inbox.jobs:fetch", every="*/2 * * * *", lock="inbox.fetch",
            description="Postfächer abrufen / poll the department mailboxes (RATHAUS_INBOX_MAILBOXES)"),
        Job("inbox.train", "rathaus.inbox.jobs:train", unique=True, lock="inbox.train",
            description="Einordnung trainieren / train routing"),
        Job("inbox.retrain", "rathaus.inbox.jobs:retrain", every="30 2 * * *", lock="inbox.train",
            description="Mit Korrekturen nachtrainieren / retrain with the case workers' corrections"),
        Job("inbox.purge", "rathaus.inbox.jobs:purge", every="20 * * * *",
            description="Alte Nachrichten löschen / message retention (RATHAUS_INBOX_RETENTION_DAYS)"),
    ),
)
