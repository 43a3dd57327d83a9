"""Settings of the inbox (``RATHAUS_INBOX_…``), a section of the platform's settings:
``runtime.settings.section(InboxSettings)``. Mail and Zammad credentials are secrets: set them in the environment
(or a mounted secret file read into it), never in the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from rathaus.core.classification import DataClass
from rathaus.core.settings import SettingsSection


class MailboxSettings(BaseModel):
    """One department's IMAP mailbox (an entry of RATHAUS_INBOX_MAILBOXES)."""

    host: str
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    user: str
    password_env: str = Field(description="Name of the environment variable holding the password.")
    folder: str = "INBOX"
    processed_folder: str | None = Field(default=None, description="Move fetched mail here; unset: flag \\Seen.")


class ExportTarget(BaseModel):
    """A department's specialist procedure (Fachverfahren) that takes over a message's extracted data: an entry of
    RATHAUS_INBOX_EXPORT_TARGETS. The body is POSTed as JSON, signed like Standard Webhooks."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://\S+$", max_length=2000,
                     description="Where the data goes; an intranet host must be allowed in RATHAUS_OUTBOUND_ALLOW.")
    secret_env: str = Field(min_length=1, description="Name of the environment variable holding the signing secret "
                                                      "(Standard Webhooks: 'whsec_' and base64).")
    data_classes: list[DataClass] = Field(
        default_factory=list,
        description="Data classes the procedure may receive (e.g. [intern, personenbezogen]); none: nothing is sent.")
    timeout_seconds: float = Field(default=30, gt=0, le=300)

    @field_validator("data_classes", mode="before")
    @classmethod
    def _parse_classes(cls, value: object) -> object:
        if isinstance(value, list):
            return [DataClass.parse(v) if isinstance(v, str) else v for v in value]
        return value


class InboxSettings(SettingsSection):
    inbox_taxonomy_file: Path | None = Field(
        default=None,
        description="YAML file of departments, categories and urgency levels (default: the shipped example "
                    "rathaus/config/inbox/taxonomy.yaml).",
    )
    inbox_routing_embedders: list[str] = Field(
        default=["multilingual-use", "multilingual-e5-small"],
        description="Embedding models whose vectors the routing model reads side by side with TF-IDF (those "
                    "enabled in the model catalogue; fewer than two: the default embedder alone). Measured in "
                    "docs/benchmarks.md: USE + e5 raise service-area macro-F1 from 0.647 to 0.667.",
    )
    inbox_models_dir: Path | None = Field(
        default=None, description="Where trained routing models are kept (default data_dir/inbox/models/<database>).")
    inbox_retention_days: int = Field(
        default=365, ge=7, le=3650,
        description="Messages (with attachments, drafts and corrections) older than this many days are deleted by "
                    "the job inbox.purge.",
    )
    inbox_mailboxes: dict[str, MailboxSettings] = Field(
        default_factory=dict,
        description="IMAP mailboxes per department, a JSON object department → {host, port, security, user, "
                    "password_env, folder, processed_folder}; polled by the job inbox.fetch.",
    )
    inbox_export_targets: dict[str, ExportTarget] = Field(
        default_factory=dict,
        description="Specialist procedures per department for the data takeover, a JSON object department → {url, "
                    "secret_env, data_classes, timeout_seconds}; unset: no export.",
    )
    inbox_smtp_host: str | None = Field(default=None, description="SMTP server for replies; unset: no mail replies.")
    inbox_smtp_port: int = Field(default=587, ge=1, le=65535)
    inbox_smtp_security: Literal["ssl", "starttls", "none"] = "starttls"
    inbox_smtp_user: str | None = None
    inbox_smtp_password: SecretStr | None = None
    inbox_smtp_from: str = Field(default="rathaus@localhost", description="Sender address of replies.")
    inbox_zammad_url: str | None = Field(default=None, description="Base URL of a Zammad instance, e.g. "
                                                                   "https://zammad.stadt.example; add its host to "
                                                                   "RATHAUS_OUTBOUND_ALLOW when it is internal.")
    inbox_zammad_token: SecretStr | None = Field(default=None, description="Zammad API token (write back results).")
    inbox_zammad_webhook_secret: SecretStr | None = Field(
        default=None, min_length=16,
        description="HMAC secret of the Zammad webhook (X-Hub-Signature); unset: the webhook refuses everything.",
    )
    inbox_zammad_write_back: bool = Field(
        default=False,
        description="Write routing results back to Zammad tickets (group, priority, tags and an internal note with "
                    "the suggestion, the extracted data and the reply draft). Off: Zammad is only read.",
    )
    inbox_auto_answer: bool = Field(
        default=False,
        description="Allow automatic replies at all (then only for categories the taxonomy marks auto_answer, when "
                    "routing and retrieval are both confident, never in EU AI Act Annex III areas).",
    )
    inbox_public_form: bool = Field(
        default=False,
        description="Offer the citizens' contact form /kontakt (anonymous, rate-limited per client); its messages "
                    "enter the inbox like mail.",
    )
    inbox_form_limit_per_hour: int = Field(
        default=5, ge=1, le=1000, description="Messages one client address may send through /kontakt per hour.")
    inbox_max_attachment_mb: int = Field(default=20, ge=1, le=500,
                                         description="Attachments above this size are kept as metadata only.")
