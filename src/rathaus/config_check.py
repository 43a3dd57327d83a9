"""``rathaus config check``: validate settings and the models file, one readable line per problem."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pydantic import ValidationError

from rathaus.core import audit
from rathaus.core.classification import DataClass
from rathaus.core.errors import ConfigError, RathausError
from rathaus.core.settings import MIN_AUDIT_RETENTION_DAYS, Settings
from rathaus.library.settings import LibrarySettings
from rathaus.models.catalog import Catalog, load_catalog
from rathaus.models.routing import allowed_models


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per invalid environment setting, named as the variable the operator sets."""
    lines = []
    for err in exc.errors():
        name = "RATHAUS_" + "_".join(str(p) for p in err["loc"]).upper()
        lines.append(f"settings: {name}: {err['msg']}")
    return lines


def load_settings(report: Report) -> Settings | None:
    """The platform's settings and every capability's section, each invalid variable reported."""
    from rathaus.core import capability

    try:
        settings = Settings()
    except ValidationError as exc:
        report.problems.extend(settings_problems(exc))
        return None
    problems = len(report.problems)
    for section in capability.settings_sections():
        try:
            settings.section(section)
        except ValidationError as exc:
            report.problems.extend(settings_problems(exc))
    return settings if len(report.problems) == problems else None


def check_settings(s: Settings, report: Report) -> None:
    p = report.problems
    if s.auth_mode == "local" and not s.embedded_database:
        p.append("auth: local single-user mode needs the embedded database; unset RATHAUS_DATABASE_URL or use oidc")
    if s.auth_mode == "oidc":
        if not s.oidc_issuer:
            p.append("auth: RATHAUS_OIDC_ISSUER is required with RATHAUS_AUTH_MODE=oidc")
        if not s.oidc_audience:
            p.append("auth: RATHAUS_OIDC_AUDIENCE is required with RATHAUS_AUTH_MODE=oidc")
        if s.oidc_issuer and not s.oidc_issuer.startswith("https://"):
            report.warnings.append(f"auth: issuer {s.oidc_issuer} is not https; acceptable for tests only")
    if s.auth_mode == "local" and s.host not in ("127.0.0.1", "localhost", "::1"):
        p.append(f"http: local single-user mode may listen on this machine only, not on {s.host}")
    if s.audit_retention_days < MIN_AUDIT_RETENTION_DAYS:
        p.append(
            f"audit: RATHAUS_AUDIT_RETENTION_DAYS={s.audit_retention_days} is below the "
            f"{MIN_AUDIT_RETENTION_DAYS} days (six months) the EU AI Act asks for"
        )
    if s.audit_store_raw:
        report.warnings.append("audit: RATHAUS_AUDIT_STORE_RAW=true stores raw prompts, possibly personal data")
    try:
        if audit.hmac_key(s) is None:
            report.warnings.append("audit: no RATHAUS_AUDIT_HMAC_KEY or RATHAUS_AUDIT_KEY_FILE; the chain uses plain "
                                   "SHA-256 and no checkpoints can be signed")
    except ConfigError as exc:
        p.append(f"audit: {exc}")
    if not s.embedded_database and not s.section(LibrarySettings).library_reader_key:
        report.warnings.append("library: no RATHAUS_LIBRARY_READER_KEY; loans and searches cannot be imported with an "
                               "external database (every replica needs the same key for reader pseudonyms)")
    if s.embedded_database:
        parent = s.data_dir if s.data_dir.exists() else s.data_dir.parent
        if not os.access(parent, os.W_OK):
            p.append(f"database: data directory {s.data_dir} is not writable")


def check_catalog(s: Settings, catalog: Catalog, report: Report) -> None:
    for spec in catalog.enabled():
        path = spec.file_path(s.model_dir)
        if spec.provider == "embedded" and path is not None and not path.is_file():
            report.problems.append(f"model {spec.name!r}: file {path} missing; run `rathaus models assemble`")
        if (spec.provider == "embedded" and spec.kind == "chat"
                and (spec.engine or s.embedded_engine) == "llama-server" and not s.llama_server_binary.is_file()):
            report.problems.append(f"model {spec.name!r}: engine llama-server, but no binary at "
                                   f"{s.llama_server_binary}; build it with `scripts/install.sh --llama-server`")
        if spec.provider == "openai" and spec.api_key_env and not os.environ.get(spec.api_key_env):
            report.problems.append(f"model {spec.name!r}: environment variable {spec.api_key_env} is not set")
    for dc in DataClass:
        if not allowed_models(catalog, "chat", dc):
            report.warnings.append(f"models: no chat model is cleared for data class '{dc}'; such requests fail")


def run_check() -> Report:
    report = Report()
    settings = load_settings(report)
    if settings is None:
        return report
    check_settings(settings, report)
    try:
        catalog = load_catalog(settings.models_file)
    except ConfigError as exc:
        report.problems.extend(exc.extra.get("problems") or [exc.detail])
        return report
    except RathausError as exc:
        report.problems.append(exc.detail)
        return report
    check_catalog(settings, catalog, report)
    try:
        from rathaus.assistants.definitions import load_assistants

        load_assistants()
    except ConfigError as exc:
        report.problems.extend(f"assistants: {p}" for p in exc.extra.get("problems") or [exc.detail])
    return report
