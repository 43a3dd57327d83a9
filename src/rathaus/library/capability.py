"""Declaration of the library recommendations – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command

CAPABILITY = Capability(
    name="library",
    title="Bibliothek / library",
    description="catalogue and loan import under pseudonyms, recommendations, similar media",
    commands=(Command("library", "rathaus.commands.library:library_app"),),
    routers=("rathaus.api.routers.library:router",),
    tables=("rathaus.library.schema",),
)
