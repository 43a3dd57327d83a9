"""Settings of the application checks (``RATHAUS_CHECKS_…``), a section of the platform's settings:
``runtime.settings.section(ChecksSettings)``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rathaus.core.settings import SettingsSection


class ChecksSettings(SettingsSection):
    checks_types_dir: Path | None = Field(
        default=None,
        description="A directory of the city's own application types (*.yaml, the schema of "
                    "rathaus/config/checks); a type with a shipped type's id replaces it.",
    )
    checks_retention_days: int = Field(
        default=180, ge=1, le=3650,
        description="Packets (with their files and results) older than this many days are deleted by the job "
                    "checks.purge.",
    )
    checks_max_files: int = Field(default=30, ge=1, le=200, description="Files per packet at most.")
    checks_max_file_mb: int = Field(default=20, ge=1, le=500, description="Size of one file at most (MB).")
    checks_public_dialogue: bool = Field(
        default=False,
        description="Offer the citizens' guided application (anonymous, resumable with a code).",
    )
    checks_dialogue_resume_days: int = Field(
        default=30, ge=1, le=365,
        description="A guided application can be resumed with its code for this many days after its last answer; "
                    "then its answers and uploads are deleted.",
    )
    checks_dialogue_starts_per_hour: int = Field(
        default=30, ge=1, le=100_000,
        description="Guided applications one client may start per hour (the page is anonymous).",
    )
    checks_dialogue_guesses_per_hour: int = Field(
        default=20, ge=1, le=10_000,
        description="Wrong resume codes one client may try per hour before it has to wait.",
    )
