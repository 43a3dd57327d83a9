"""Storing register entries: every change is a new version with its history row (who, when, what changed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.errors import BadRequest, NotFound
from rathaus.governance.register.entry import RegisterEntry, parse_entry, parse_yaml
from rathaus.governance.register.tables import RegisterEntryChange, RegisterEntryRow

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "config" / "register"


def get_entry(session: Session, system_id: str) -> RegisterEntry | None:
    row = session.get(RegisterEntryRow, system_id)
    return None if row is None else parse_entry({"id": row.system_id, **row.fields}, system_id)


def entries(session: Session) -> dict[str, RegisterEntry]:
    rows = session.scalars(sa.select(RegisterEntryRow).order_by(RegisterEntryRow.system_id))
    return {r.system_id: parse_entry({"id": r.system_id, **r.fields}, r.system_id) for r in rows}


def entry_meta(session: Session, system_id: str) -> dict[str, Any] | None:
    row = session.get(RegisterEntryRow, system_id)
    if row is None:
        return None
    return {"version": row.version, "updated_by": row.updated_by, "updated_at": row.updated_at.isoformat()}


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed fields as ``{field: [old, new]}`` (nested texts compared as a whole)."""
    return {key: [old.get(key), new.get(key)] for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def set_entry(session: Session, entry: RegisterEntry, *, known_ids: Iterable[str], actor: str, source: str,
              expected_version: int | None = None) -> dict[str, Any]:
    """Store ``entry`` as the new version of its system; unchanged: nothing is written. NotFound for an id the
    platform does not know; BadRequest when somebody changed the entry since ``expected_version``."""
    if entry.id not in set(known_ids):
        raise NotFound(f"no AI system {entry.id!r}; 'rathaus register list' shows the known ids")
    row = session.get(RegisterEntryRow, entry.id, with_for_update=True)
    new = entry.fields()
    if row is not None and expected_version is not None and row.version != expected_version:
        raise BadRequest(f"{entry.id}: changed meanwhile (now version {row.version}); reload and enter again")
    changes = diff(row.fields if row else {}, new)
    if row is not None and not changes:
        return {"id": entry.id, "version": row.version, "changed": []}
    now = dt.datetime.now(dt.UTC)
    if row is None:
        row = RegisterEntryRow(system_id=entry.id, fields=new, public=entry.public, version=1, updated_by=actor,
                               updated_at=now)
        session.add(row)
    else:
        row.fields, row.public, row.version = new, entry.public, row.version + 1
        row.updated_by, row.updated_at = actor, now
    session.flush()
    session.add(RegisterEntryChange(system_id=entry.id, version=row.version, changed_by=actor, changed_at=now,
                                    source=source, changes=changes))
    session.flush()
    return {"id": entry.id, "version": row.version, "changed": sorted(changes)}


def history(session: Session, system_id: str) -> list[dict[str, Any]]:
    """The changes of one entry, newest first; NotFound when it was never entered."""
    rows = list(session.scalars(sa.select(RegisterEntryChange).where(RegisterEntryChange.system_id == system_id)
                                .order_by(RegisterEntryChange.version.desc())))
    if not rows:
        raise NotFound(f"no register entry for {system_id!r}")
    return [{"version": r.version, "changed_by": r.changed_by, "changed_at": r.changed_at.isoformat(),
             "source": r.source, "changes": r.changes} for r in rows]


def load_files(session: Session, paths: Iterable[Path], *, known_ids: Iterable[str], actor: str,
               source: str = "sample", only_new: bool = False) -> list[dict[str, Any]]:
    """Store the entries of YAML files (all parsed before any is stored); ``only_new`` keeps existing entries
    (what people changed is not overwritten by the samples at the next start)."""
    known = set(known_ids)
    parsed = [e for p in paths for e in parse_yaml(p.read_text(encoding="utf-8"), p.name)]
    results = []
    for entry in parsed:
        if entry.id not in known:
            continue  # a sample for a system this installation does not run (e.g. a disabled model)
        if only_new and session.get(RegisterEntryRow, entry.id) is not None:
            continue
        results.append(set_entry(session, entry, known_ids=known, actor=actor, source=source))
    return results


def sample_files(directory: Path | None = None) -> list[Path]:
    return sorted((directory or SAMPLES_DIR).glob("*.yaml"))
