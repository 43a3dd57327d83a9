"""Declaration of application checks and guided applications – see rathaus.core.capability."""

from rathaus.core.capability import Capability

CAPABILITY = Capability(
    name="checks",
    title="Antragsprüfung / application checks",
    description="completeness and correctness of application packets, and a guided application dialogue",
    settings="rathaus.checks.settings:ChecksSettings",
    # the guided application: JSON API and the citizens' page /antrag/<type> (RATHAUS_CHECKS_PUBLIC_DIALOGUE)
    routers=("rathaus.api.routers.checks_applications:router", "rathaus.web.checks_dialogue:router"),
    tables=("rathaus.checks.schema",),
    migrations="rathaus.checks.migrations",
)
