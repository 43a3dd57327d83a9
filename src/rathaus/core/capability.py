"""The one door: how a capability plugs into rathaus.

A capability (knowledge bases, assistants, traffic counts, library, governance, safety evaluations, and the
platform itself) declares in one :class:`Capability` value what it brings: CLI commands, API routers, tables and
migrations, background jobs, web pages with their navigation entries, UI strings, its settings section and the
facts of the AI systems it runs (for the register, rathaus.core.system_facts). The CLI, the app factory, Alembic,
the job runner, the settings and the web navigation iterate over :func:`capabilities` – nothing else lists them.

Declarations name code by import path (``"rathaus.commands.traffic:traffic_app"``), like Python entry points:
declaring is cheap, the code is imported only by the part that uses it, and a declaration never makes a lower
layer import a higher one. Where they come from (docs/decisions/0005-capability-registry.md):

* the built-in capabilities, listed in :data:`BUILTIN` (the datasette idea: built-in features enter through the
  same door as a city's own);
* installed packages that declare an entry point in the group ``rathaus.capabilities``
  (``[project.entry-points."rathaus.capabilities"] parking = "stadt_parking.capability:CAPABILITY"``);
* modules named in the environment variable ``RATHAUS_CAPABILITIES`` (``module:attr``, comma-separated), for a
  city's module that is not packaged.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from rathaus.core.errors import ConfigError
from rathaus.core.jobs.declare import Job
from rathaus.core.schema import Base
from rathaus.core.settings import SettingsSection
from rathaus.core.system_facts import ModelUse, SystemFacts

__all__ = ["BUILTIN", "Capability", "Command", "Job", "ModelUse", "Page", "SystemFacts", "capabilities", "find_job",
           "get", "jobs", "load", "load_tables", "migration_locations", "nav_pages", "reload", "settings_sections",
           "system_facts", "ui_strings"]

ENTRY_POINT_GROUP = "rathaus.capabilities"
ENV_VARIABLE = "RATHAUS_CAPABILITIES"

#: the built-in capabilities, in the order of the CLI help and the web navigation
BUILTIN = (
    "rathaus.core.platform:CAPABILITY",
    "rathaus.assistants.capability:CAPABILITY",
    "rathaus.knowledge.capability:CAPABILITY",
    "rathaus.safety.capability:CAPABILITY",
    "rathaus.governance.capability:CAPABILITY",
    "rathaus.traffic.capability:CAPABILITY",
    "rathaus.library.capability:CAPABILITY",
    "rathaus.inbox.capability:CAPABILITY",
    "rathaus.checks.capability:CAPABILITY",
    "rathaus.literacy.capability:CAPABILITY",
)


@dataclass(frozen=True)
class Command:
    """A CLI entry: ``name`` is the command path (``"traffic"`` → ``rathaus traffic …``; ``"eval bias"`` → a
    command in the group ``eval``); ``target`` a ``typer.Typer`` (a group) or a function (one command)."""

    name: str
    target: str


@dataclass(frozen=True)
class Page:
    """An entry of the web navigation: ``label`` in German and English; shown to everybody, or only to
    principals with one of ``roles``; ``prefix`` marks the entry current for every path below it."""

    path: str
    label_de: str
    label_en: str
    roles: tuple[str, ...] = ()
    order: int = 50

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_de

    def visible_to(self, roles: Any) -> bool:
        return not self.roles or any(role in roles for role in self.roles)


@dataclass(frozen=True)
class Capability:
    """What one capability brings; every part names code by ``"module:attr"`` (or a module for ``tables``)."""

    name: str
    title: str
    commands: tuple[Command, ...] = ()
    routers: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()  # modules whose import registers SQLAlchemy tables on core's metadata
    migrations: str | None = None  # a package holding Alembic versions of this capability (a branch of its own)
    jobs: tuple[Job, ...] = ()
    pages: tuple[Page, ...] = ()
    strings: str | None = None  # "module:attr" of {"de": {...}, "en": {...}} merged into the UI texts
    settings: str | None = None  # "module:attr" of a SettingsSection subclass: the capability's settings
    description: str = ""
    register: str | None = None  # "module:attr" of (runtime, session) -> list[SystemFacts]: its AI systems


def load(target: str) -> Any:
    """The object named by ``"module:attr"`` (or the module for ``"module"``); ConfigError naming it if missing."""
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"capability part {target!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    return obj


def _declared() -> Iterator[str | Capability]:
    yield from BUILTIN
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        yield ep.value
    for target in os.environ.get(ENV_VARIABLE, "").replace(";", ",").split(","):
        if target.strip():
            yield target.strip()


@cache
def capabilities() -> tuple[Capability, ...]:
    """Every capability, built-in first; a name declared twice is a configuration error."""
    found: list[Capability] = []
    for item in _declared():
        cap = item if isinstance(item, Capability) else load(item)
        if not isinstance(cap, Capability):
            raise ConfigError(f"{item!r} is not a rathaus Capability but {type(cap).__name__}")
        if any(c.name == cap.name for c in found):
            if item in BUILTIN or cap in found:
                continue
            raise ConfigError(f"two capabilities are named {cap.name!r}; rename one")
        found.append(cap)
    return tuple(found)


def reload() -> tuple[Capability, ...]:
    """Read the declarations again (after ``RATHAUS_CAPABILITIES`` changed, e.g. in tests)."""
    capabilities.cache_clear()
    return capabilities()


def get(name: str) -> Capability:
    for cap in capabilities():
        if cap.name == name:
            return cap
    raise ConfigError(f"no capability named {name!r}")


def jobs() -> list[Job]:
    """Every capability's background jobs (the job queue and workers run these)."""
    return [job for cap in capabilities() for job in cap.jobs]


def find_job(name: str) -> Job:
    for job in jobs():
        if job.name == name:
            return job
    known = ", ".join(sorted(job.name for job in jobs()))
    raise ConfigError(f"no job named {name!r}; known jobs: {known}")


def load_tables() -> MetaData:
    """Import every capability's table modules and return core's metadata, which then knows all tables
    (migrations, the schema check)."""
    for cap in capabilities():
        for module in cap.tables:
            load(module)
    return Base.metadata


def migration_locations() -> list[str]:
    """Directories of the capabilities' own Alembic versions (each a branch depending on the platform's chain)."""
    locations: list[str] = []
    for cap in capabilities():
        if cap.migrations:
            module = load(cap.migrations)
            locations.extend(str(p) for p in module.__path__)
    return locations


def settings_sections() -> list[type[SettingsSection]]:
    """The capabilities' settings sections (reach one as ``settings.section(cls)``)."""
    sections: list[type[SettingsSection]] = []
    for cap in capabilities():
        if cap.settings:
            cls = load(cap.settings)
            if not (isinstance(cls, type) and issubclass(cls, SettingsSection)):
                raise ConfigError(f"{cap.settings!r} of capability {cap.name!r} is not a SettingsSection class")
            sections.append(cls)
    return sections


def nav_pages() -> list[Page]:
    return sorted((p for cap in capabilities() for p in cap.pages), key=lambda p: (p.order, p.path))


def ui_strings() -> dict[str, dict[str, str]]:
    """The capabilities' UI strings, merged per language (a later capability does not override an earlier one)."""
    merged: dict[str, dict[str, str]] = {}
    for cap in capabilities():
        if cap.strings:
            for lang, texts in load(cap.strings).items():
                target = merged.setdefault(lang, {})
                for key, value in texts.items():
                    target.setdefault(key, value)
    return merged


def system_facts(runtime: Any, session: Session) -> list[SystemFacts]:
    """Every capability's AI systems (``Capability.register``), in the order of the capabilities; an id named
    twice is a configuration error."""
    found: dict[str, SystemFacts] = {}
    for cap in capabilities():
        if not cap.register:
            continue
        for facts in load(cap.register)(runtime, session):
            if not isinstance(facts, SystemFacts):
                raise ConfigError(f"{cap.register!r} returned {type(facts).__name__}, not SystemFacts")
            if facts.id in found:
                raise ConfigError(f"two capabilities describe the AI system {facts.id!r}")
            found[facts.id] = facts
    return list(found.values())
