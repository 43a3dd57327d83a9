"""Declaration of the traffic counts (import, plausibility checks, gap filling) – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job

CAPABILITY = Capability(
    name="traffic",
    title="Verkehrszählungen / traffic counts",
    description="count import, plausibility checks, gap filling",
    register="rathaus.traffic.register:system_facts",
    commands=(Command("traffic", "rathaus.commands.traffic:traffic_app"),),
    routers=("rathaus.api.routers.traffic:router",),
    tables=("rathaus.traffic.schema",),
    jobs=(
        Job("traffic.check", "rathaus.traffic.jobs:check", lock="traffic.pipeline",
            description="Zählwerte prüfen / plausibility checks of the stored counts"),
        Job("traffic.impute", "rathaus.traffic.jobs:impute", lock="traffic.pipeline",
            description="Lücken füllen / fill gaps in the stored counts"),
    ),
)
