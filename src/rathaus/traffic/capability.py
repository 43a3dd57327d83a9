"""Declaration of the traffic counts (import, plausibility checks, gap filling) – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command

CAPABILITY = Capability(
    name="traffic",
    title="Verkehrszählungen / traffic counts",
    description="count import, plausibility checks, gap filling",
    commands=(Command("traffic", "rathaus.commands.traffic:traffic_app"),),
    routers=("rathaus.api.routers.traffic:router",),
    tables=("rathaus.traffic.schema",),
)
