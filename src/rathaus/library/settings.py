"""Settings of the library recommendations (``RATHAUS_LIBRARY_…``), a section of the platform's settings:
``runtime.settings.section(LibrarySettings)``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from rathaus.core.settings import SettingsSection


class LibrarySettings(SettingsSection):
    library_reader_key: SecretStr | None = Field(
        default=None, min_length=16,
        description="HMAC key that turns reader ids into pseudonyms at import. Unset in the embedded default: a "
                    "random key kept in data_dir/secrets/library-reader-key (mode 0600); required with an external "
                    "database. Changing it cuts every stored loan and opt-out off from its reader.",
    )
    library_loan_retention_days: int = Field(
        default=730, ge=1, le=3650,
        description="Loans and searches older than this many days are not imported and are purged.",
    )
    library_models_dir: Path | None = Field(
        default=None,
        description="Where trained recommendation models are kept (default data_dir/library/models, in the embedded "
                    "default one subfolder per database); with several replicas a shared volume.",
    )
    library_retrain_hours: float = Field(
        default=24, ge=0, le=24 * 365,
        description="The job library.retrain retrains the recommendation model when the newest one is older than this "
                    "many hours and loans are stored; 0 disables the nightly retrain.",
    )
