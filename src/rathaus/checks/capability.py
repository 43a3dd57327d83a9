"""Declaration of application checks and guided applications – see rathaus.core.capability."""

from rathaus.core.capability import Capability

CAPABILITY = Capability(
    name="checks",
    title="Antragsprüfung / application checks",
    description="completeness and correctness of application packets, and a guided application dialogue",
    tables=("rathaus.checks.schema",),
    migrations="rathaus.checks.migrations",
)
