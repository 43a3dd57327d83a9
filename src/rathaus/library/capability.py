"""Declaration of the library recommendations – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job

CAPABILITY = Capability(
    name="library",
    title="Bibliothek / library",
    settings="rathaus.library.settings:LibrarySettings",
    description="catalogue and loan import under pseudonyms, recommendations, similar media",
    register="rathaus.library.register:system_facts",
    commands=(Command("library", "rathaus.commands.library:library_app"),),
    routers=("rathaus.api.routers.library:router",),
    tables=("rathaus.library.schema",),
    jobs=(
        Job("library.train", "rathaus.library.jobs:train", unique=True, lock="library.train",
            description="Empfehlungsmodell trainieren / train the recommendation model"),
        Job("library.retrain", "rathaus.library.jobs:retrain", every="*/10 * * * *", lock="library.train",
            description="Empfehlungsmodell nachtrainieren, wenn fällig / retrain when due "
                        "(RATHAUS_LIBRARY_RETRAIN_HOURS)"),
        Job("library.purge", "rathaus.library.jobs:purge", every="15 * * * *",
            description="Alte Ausleihen und Suchen löschen / loan and search retention "
                        "(RATHAUS_LIBRARY_LOAN_RETENTION_DAYS)"),
    ),
)
