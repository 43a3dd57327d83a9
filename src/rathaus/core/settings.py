"""Settings from environment variables (prefix ``RATHAUS_``) or a ``.env`` file.

Every setting has a safe default for the embedded single-machine mode; production deployments set
``RATHAUS_DATABASE_URL``, ``RATHAUS_AUTH_MODE=oidc`` and the OIDC fields.

:class:`Settings` holds the platform's own settings. A capability keeps its settings in a section of its own (a
:class:`SettingsSection` subclass named in its declaration, e.g. ``rathaus.library.settings:LibrarySettings``),
read from the same variables and ``.env`` file, and reached as ``settings.section(LibrarySettings)``. Values given
to ``Settings(...)`` for a section's fields (as tests do) go to that section.
"""

from __future__ import annotations

import ipaddress
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import platformdirs
from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rathaus.core.classification import DataClass
from rathaus.core.safeguards import ContentGuardPolicy, PersonalDataPolicy

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MODELS_FILE = PACKAGE_DIR / "config" / "models.yaml"

#: EU AI Act Art. 19/26(6): logs of high-risk systems are kept for at least six months.
MIN_AUDIT_RETENTION_DAYS = 183


def _split_list(value: object) -> object:
    """A list setting from the environment: a JSON list, or entries separated by commas or spaces."""
    if isinstance(value, str):
        text = value.strip()
        return json.loads(text) if text.startswith("[") else [e for e in re.split(r"[,\s]+", text) if e]
    return value


class SettingsSection(BaseSettings):
    """A capability's settings: variables with the prefix ``RATHAUS_`` (name fields with the capability's name
    first, e.g. ``library_reader_key`` → ``RATHAUS_LIBRARY_READER_KEY``), read like :class:`Settings`."""

    model_config = SettingsConfigDict(env_prefix="RATHAUS_", env_file=".env", extra="ignore")


SectionT = TypeVar("SectionT", bound=SettingsSection)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RATHAUS_", env_file=".env", extra="ignore")

    _section_values: dict[str, Any] = PrivateAttr(default_factory=dict)
    _section_env_file: Any = PrivateAttr(default=".env")
    _sections: dict[type[SettingsSection], SettingsSection] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        own = type(self).model_fields
        for_sections = {k: values.pop(k) for k in list(values) if not k.startswith("_") and k not in own}
        super().__init__(**values)
        self._section_values = for_sections
        self._section_env_file = values.get("_env_file", ".env")

    def load_sections(self, sections: list[type[SettingsSection]]) -> None:
        """Read every section now (an invalid ``RATHAUS_…`` value fails here, at start), and refuse values given
        to this object that no section has a field for (a misspelt setting in a test or a wiring)."""
        for cls in sections:
            self.section(cls)
        unknown = sorted(set(self._section_values) - {name for cls in sections for name in cls.model_fields})
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(unknown)}")

    def section(self, cls: type[SectionT]) -> SectionT:
        """The capability's settings section ``cls``: read once from the environment (and the ``.env`` file), with
        the values given to this object for its fields on top; the same object on every call."""
        found = self._sections.get(cls)
        if found is None:
            given = {k: v for k, v in self._section_values.items() if k in cls.model_fields}
            found = cls(_env_file=self._section_env_file, **given)
            self._sections[cls] = found
        return found  # type: ignore[return-value]  # keyed by its own class

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("rathaus")),
        description="Where the embedded database and uploaded files live.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_cache_dir("rathaus")),
        description="Where assembled model files and built wheels are cached.",
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means an embedded server in data_dir."
    )
    database_name: str = Field(
        default="rathaus", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Database inside the embedded server (created on first start).",
    )
    models_file: Path = Field(default=DEFAULT_MODELS_FILE, description="YAML file describing the models.")
    database_pool_size: int = Field(
        default=32, ge=1, le=1000,
        description="Database connections each process may keep open (SQLAlchemy pool, opened when needed). At least "
                    "RATHAUS_KNOWLEDGE_SEARCH_THREADS: a search holds one connection at a time.",
    )
    database_max_overflow: int = Field(
        default=20, ge=0, le=1000,
        description="Connections a process may open beyond the pool at peaks (closed again when returned). Per "
                    "process: all processes together must stay below PostgreSQL's max_connections.",
    )

    # --- HTTP -----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_request_bytes: int = Field(default=2_000_000, ge=1024)
    embed_allowed_origins: str = Field(
        default="*",
        description="Web pages that may show the citizen assistant widget in a frame (CSP frame-ancestors), "
                    "separated by spaces or commas, e.g. 'https://www.muenchen.de https://*.muenchen.de'; "
                    "* = any page.",
    )
    hsts: bool = Field(
        default=False,
        description="Send Strict-Transport-Security on every response; without it only on requests that came "
                    "over TLS (set it when a proxy terminates TLS and is not among the trusted proxies).",
    )

    @field_validator("embed_allowed_origins")
    @classmethod
    def _embed_origins_are_csp_sources(cls, value: str) -> str:
        """Each entry one CSP source: nothing (';', line breaks) that would add to or break the header."""
        source = re.compile(r"\*|'self'|'none'|https?:|(https?://)?(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*"
                            r"(:([0-9]{1,5}|\*))?")
        entries = [e for e in re.split(r"[\s,]+", value.strip()) if e]
        bad = [e for e in entries if not source.fullmatch(e)]
        if not entries or bad:
            raise ValueError(f"not a web origin a page may be framed by: {', '.join(map(repr, bad)) or 'nothing'}; "
                             "give origins like 'https://www.muenchen.de https://*.muenchen.de', or '*'")
        return value

    # --- Outbound requests (crawler, URL ingestion, refresh; see rathaus.core.outbound) -----------------
    outbound_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Non-public hosts the platform may fetch from for its users, e.g. a city's own intranet: host "
                    "names, '*.domain' suffixes and address ranges (CIDR), comma-separated or a JSON list. Empty: "
                    "only public internet addresses (no loopback, private, link-local, ... addresses).",
    )

    @field_validator("outbound_allow", mode="before")
    @classmethod
    def _outbound_allow_entries(cls, value: object) -> object:
        from rathaus.core.outbound import parse_allow_entry

        value = _split_list(value)
        if isinstance(value, list | tuple):
            for entry in value:
                if isinstance(entry, str):
                    parse_allow_entry(entry)  # ValueError names the bad entry
        return value

    # --- Client addresses (see docs/operations.md, security) ----------------------------------------------
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto "
                    "headers are believed (comma-separated, e.g. '10.0.0.0/8,192.168.5.10'). Empty: no forwarded "
                    "header is believed; the address of the connecting socket is the client.",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        networks = []
        for entry in value:
            try:
                networks.append(str(ipaddress.ip_network(entry.strip(), strict=True)))
            except ValueError as exc:
                raise ValueError(f"trusted proxy {entry!r} is not an IP address or CIDR network ({exc})") from None
        return networks

    # --- Auth -------------------------------------------------------------------------------------
    auth_mode: Literal["local", "oidc"] = Field(
        default="local",
        description="local: single user without login, embedded default only. oidc: bearer tokens.",
    )
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = Field(
        default=None, description="Defaults to <issuer>/protocol/openid-connect/certs (Keycloak)."
    )
    oidc_algorithms: list[str] = ["RS256", "ES256", "PS256"]
    oidc_department_claim: str = Field(default="department", description="Dotted path into the claims.")
    oidc_roles_claim: str = Field(default="realm_access.roles", description="Dotted path into the claims.")
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    oidc_client_id: str | None = Field(
        default=None, description="Client id of the web UI at the identity provider (code flow with PKCE)."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Secret of a confidential client (client_secret_post); unset: public client."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for the short-lived login cookie; unset: a random key per process, "
                    "so several replicas or workers need it set (all the same).",
    )
    session_hours: int = Field(default=8, ge=1, le=168, description="Lifetime of a web UI session.")
    cookie_secure: bool = Field(default=True, description="Send cookies over HTTPS only; false for plain-http tests.")
    local_department: str = "lokal"

    # --- Data classes -------------------------------------------------------------------------------
    default_data_class: DataClass = Field(
        default=DataClass.PERSONENBEZOGEN,
        description="Class assumed when a request names none: the most protective one.",
    )
    data_class_policy: Literal["refuse", "reroute"] = Field(
        default="refuse",
        description="What the gateway does when the named model may not receive the request's class.",
    )

    # --- Failover (rathaus.models.breaker) -------------------------------------------------------------
    model_failover: Literal["listed", "auto", "off"] = Field(
        default="listed",
        description="When a model fails: 'listed' tries the catalogue's 'fallbacks' of the model; 'auto' after those "
                    "any other enabled model of the same kind cleared for the request's data class (embeddings: "
                    "the same vector space); 'off' none.",
    )
    breaker_failures: int = Field(default=3, ge=1, le=1000,
                                  description="Consecutive failures (unreachable, 5xx, timeout) that open a model's "
                                              "circuit breaker.")
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0, le=3600,
                                            description="How long an open breaker sends calls to the fallbacks "
                                                        "before one trial call goes to the model again.")

    # --- Energy and CO2 -----------------------------------------------------------------------------
    grid_gco2_per_kwh: float = Field(default=363.0, gt=0, description="UBA German mix 2024.")
    pue: float = Field(default=1.4, ge=1.0, le=3.0, description="Power usage effectiveness on premises.")
    watts_per_core: float = Field(default=12.0, gt=0, le=500, description="CPU power per busy core.")

    # --- Uploads -------------------------------------------------------------------------------------
    upload_max_mb: int = Field(default=20, ge=1, le=500,
                               description="Largest file of any upload (chat, collection, traffic, library), in MB.")

    # --- Safeguards (defaults for calls without an assistant's own policy; see rathaus.safety.policy) ------
    safety_personal_data: PersonalDataPolicy = Field(
        default=PersonalDataPolicy.PSEUDONYMISE,
        description="Personal data in prompts for models not cleared for 'personenbezogen'.",
    )
    safety_content_guard: ContentGuardPolicy = Field(
        default=ContentGuardPolicy.WARN,
        description="Content guard on input and answers (employees may need to work on offensive letters: warn).",
    )
    safety_guard_threshold: float | None = Field(default=None, gt=0, lt=1,
                                                 description="Guard threshold (empty: the shipped default).")

    # --- Audit ----------------------------------------------------------------------------------------
    audit_retention_days: int = Field(default=365)
    audit_store_raw: bool = Field(
        default=False, description="Store raw prompts/answers in the audit log (off: hashes only)."
    )
    audit_hmac_key: SecretStr | None = Field(
        default=None, min_length=16,
        description="Key for the audit hash chain and its signed checkpoints (HMAC-SHA-256). Unset: the key file "
                    "(RATHAUS_AUDIT_KEY_FILE, in the embedded default data_dir/secrets/audit-key, created with a new "
                    "data directory); with neither, plain SHA-256 and no checkpoints.",
    )
    audit_key_file: Path | None = Field(
        default=None, description="File holding the audit key (outside the database, mode 0600), e.g. a mounted "
                                  "Kubernetes secret. Default in the embedded default: data_dir/secrets/audit-key.",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Append-only JSON Lines file of signed checkpoints of the chain's head and of retention purges; "
                    "put it on storage the database's users cannot write (a write-once volume). Default: "
                    "data_dir/audit/<database_name>.checkpoints.jsonl.",
    )
    audit_checkpoint_seconds: float = Field(
        default=60, ge=1, le=86_400,
        description="How often the background job signs a checkpoint of the chain's head (when it moved). Records "
                    "deleted at the head after the last checkpoint are the only ones verify cannot see.",
    )

    # --- Background jobs (rathaus.core.jobs: a queue in PostgreSQL, run by `rathaus worker`) --------------
    worker_embedded: bool | None = Field(
        default=None,
        description="Run a job worker inside `rathaus serve` (with one HTTP worker process). Unset: on with the "
                    "embedded database, off with an external one (run `rathaus worker` processes instead). "
                    "`rathaus up` always runs one.",
    )
    worker_concurrency: int = Field(default=2, ge=1, le=64, description="Jobs one worker runs at the same time.")
    worker_heartbeat_seconds: float = Field(
        default=10, gt=0, le=600, description="How often a worker tells the database it is alive.")
    worker_stalled_seconds: float = Field(
        default=60, gt=0, le=86_400,
        description="A worker silent for this long is taken as dead (killed, machine lost): the jobs it was running "
                    "are queued again by the next run of jobs.retry_stalled.",
    )
    jobs_poll_seconds: float = Field(
        default=5, gt=0, le=600,
        description="Fallback polling interval of workers (new jobs normally arrive at once by LISTEN/NOTIFY; "
                    "retries due later are found by polling).",
    )
    jobs_retries: int = Field(default=4, ge=0, le=50,
                              description="Retries of a job after transient errors (database, network, timeouts).")
    jobs_retry_seconds: float = Field(
        default=15, gt=0, le=86_400,
        description="First retry delay; it doubles with every further attempt (15 s, 30 s, 60 s, 120 s).",
    )
    jobs_keep_days: int = Field(default=14, ge=1, le=3650,
                                description="Finished jobs are listed this long, then deleted by jobs.cleanup.")
    jobs_schedule: dict[str, str] = Field(
        default_factory=dict,
        description="Change when periodic jobs run: JSON object job name → cron expression (5 fields, or 6 with "
                    "seconds last), or 'off'; e.g. '{\"knowledge.refresh\": \"*/30 * * * *\", \"library.retrain\": "
                    "\"off\"}'. See `rathaus jobs schedule`.",
    )

    @field_validator("jobs_schedule")
    @classmethod
    def _cron_expressions(cls, value: dict[str, str]) -> dict[str, str]:
        from rathaus.core.cron import OFF, valid_cron

        for name, cron in value.items():
            if cron.strip().lower() != OFF and not valid_cron(cron.strip()):
                raise ValueError(f"{name}: {cron!r} is neither a cron expression (5 fields, or 6 with seconds last) "
                                 "nor 'off'")
        return value

    # --- Query embeddings (rathaus.models.query_embeddings) -----------------------------------------------
    query_embedding_cache_size: int = Field(
        default=4096, ge=0, le=10_000_000,
        description="Search questions whose vectors each process remembers (LRU; about 2 KB each); a repeated "
                    "question is not embedded again (no model call, nothing metered). 0: off.",
    )
    query_embedding_batch: int = Field(
        default=32, ge=1, le=1024,
        description="Most search questions embedded together in one model call when several wait at the same time; "
                    "1: one call per question.",
    )

    # --- Embedded models --------------------------------------------------------------------------
    llm_threads: int | None = Field(default=None, ge=1, le=256, description="Default: all cores.")
    embedded_engine: Literal["llama-cpp-python", "llama-server"] = Field(
        default="llama-cpp-python",
        description="How an embedded chat model without its own `engine:` runs: in this process "
                    "(llama-cpp-python, one call at a time) or in a supervised llama-server child process on "
                    "loopback that batches parallel calls (built by `scripts/install.sh --llama-server`; "
                    "docs/decisions/0007-batching-engine.md).")
    llama_server: Path | None = Field(
        default=None, description="The llama-server binary; default: cache_dir/bin/llama-server (install.sh).")
    llama_server_parallel: int = Field(
        default=4, ge=1, le=64,
        description="Parallel slots of llama-server (continuous batching); the model's admission slots unless "
                    "the catalogue sets max_concurrency.")

    @property
    def llama_server_binary(self) -> Path:
        return self.llama_server or self.cache_dir / "bin" / "llama-server"

    @property
    def embedded_database(self) -> bool:
        return not self.database_url

    @property
    def model_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def jwks_url(self) -> str | None:
        if self.oidc_jwks_url:
            return self.oidc_jwks_url
        if self.oidc_issuer:
            return self.oidc_issuer.rstrip("/") + "/protocol/openid-connect/certs"
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
