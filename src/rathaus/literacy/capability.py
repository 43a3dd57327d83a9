"""Declaration of AI literacy (learning modules with a check, guidance panels, the record per department) – see
rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Page

CAPABILITY = Capability(
    name="literacy",
    title="KI-Kompetenz / AI literacy",
    description="AI literacy for staff (EU AI Act Art. 4): modules with a check, guidance in every tool, a record "
                "per department in aggregates",
    commands=(Command("literacy", "rathaus.commands.literacy:literacy_app"),),
    routers=("rathaus.api.routers.literacy:router", "rathaus.web.literacy:router"),
    tables=("rathaus.literacy.schema",),
    migrations="rathaus.literacy.migrations",
    pages=(Page("/lernen", "KI-Kompetenz", "AI literacy", order=70),),
    strings="rathaus.literacy.strings:STRINGS",
    settings="rathaus.literacy.settings:LiteracySettings",
)
