"""Declaration of application checks and guided applications – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="checks",
    title="Antragsprüfung / application checks",
    description="completeness and correctness of application packets, and a guided application dialogue",
    register="rathaus.checks.register:system_facts",
    settings="rathaus.checks.settings:ChecksSettings",
    commands=(Command("checks", "rathaus.commands.checks:checks_app"),),
    # packets: API and the case workers' page /pruefung; the guided application: JSON API and the citizens'
    # page /antrag/<type> (RATHAUS_CHECKS_PUBLIC_DIALOGUE)
    routers=("rathaus.api.routers.checks:router", "rathaus.web.checks:router",
             "rathaus.api.routers.checks_applications:router", "rathaus.web.checks_dialogue:router"),
    tables=("rathaus.checks.schema",),
    migrations="rathaus.checks.migrations",
    strings="rathaus.checks.strings:STRINGS",
    pages=(Page("/pruefung", "Antragsprüfung", "Application checks", roles=("checks-review", "admin"), order=37),),
    jobs=(
        Job("checks.run", "rathaus.checks.jobs:run", lock="checks.packet:{packet_id}",
            description="Antrag prüfen / read and check an application packet"),
        Job("checks.sweep", "rathaus.checks.jobs:sweep", every="*/5 * * * *",
            description="Liegengebliebene Anträge prüfen / check packets whose job was lost"),
        Job("checks.purge", "rathaus.checks.jobs:purge", every="40 * * * *",
            description="Alte Anträge löschen / packet retention (RATHAUS_CHECKS_RETENTION_DAYS)"),
    ),
)
