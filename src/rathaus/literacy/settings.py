"""Settings of AI literacy (``RATHAUS_LITERACY_…``): ``runtime.settings.section(LiteracySettings)``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rathaus.core.settings import SettingsSection


class LiteracySettings(SettingsSection):
    literacy_modules_dir: Path | None = Field(
        default=None,
        description="A folder of learning modules (*.md with YAML front matter) that replaces the shipped ones in "
                    "rathaus/literacy/modules, so a city can edit them.")
    literacy_require_basics_for_high_risk: bool = Field(
        default=False,
        description="A person must have passed the basics module (RATHAUS_LITERACY_BASICS_MODULE) before the first "
                    "use of a high-risk (EU AI Act Annex III) assistant; otherwise 403 naming the module.")
    literacy_basics_module: str = Field(
        default="ki-verordnung", min_length=1, max_length=100,
        description="The id of the basics module for RATHAUS_LITERACY_REQUIRE_BASICS_FOR_HIGH_RISK.")
