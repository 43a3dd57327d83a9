"""Settings of the assistants (chat retention, public widget limits), a section of the platform's settings:
``runtime.settings.section(AssistantsSettings)``."""

from __future__ import annotations

from pydantic import Field

from rathaus.core.settings import SettingsSection


class AssistantsSettings(SettingsSection):
    chat_retention_days: int = Field(
        default=90, ge=1, le=3650,
        description="Chats untouched for this many days are deleted with their uploads (job assistants.purge_chats).",
    )
    widget_client_limit_per_minute: int = Field(
        default=20, ge=1, le=10_000,
        description="Questions one client address may ask one public assistant per minute (an assistant's "
                    "rate_limit_per_minute overrides it). IPv6 clients count per /64 network.",
    )
    widget_assistant_limit_per_minute: int = Field(
        default=120, ge=1, le=100_000,
        description="Questions one public assistant takes per minute from all clients together, so a flood "
                    "from many addresses cannot occupy the models (an assistant's total_rate_limit_per_minute "
                    "overrides it).",
    )
