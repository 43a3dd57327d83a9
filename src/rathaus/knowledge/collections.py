"""Create, find, describe and delete collections, always through the access rules.

Names and what one may not see
------------------------------
A collection one may not read looks exactly like a missing one, for every lookup by name (404). Creating
a collection must not tell either: if names were unique across the whole platform, a refused creation
("exists already") would confirm that another department's restricted or someone's private collection of
that name exists, and anybody signed in may create private collections to ask. So a name is unique only
among the collections its creator can read: creating a name that one of *those* holds is refused with 409,
and a name held only by collections the creator cannot see is simply created (201, exactly as for an unused
name). Two readable collections can therefore share a name for someone who reads both (e.g. an employee with
roles in two departments); every lookup by name then takes the oldest of them (``BY_AGE``), so creating a
collection never changes what an existing name means for anybody. Public collections are readable by every
creator, so their names stay unique platform-wide, and anonymous citizens always find exactly one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, Conflict, Forbidden, NotFound
from rathaus.knowledge import access
from rathaus.knowledge.schema import Chunk, Collection, Document, IngestRun

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
BY_AGE = (Collection.id,)  # identity order = creation order: the oldest of several readable ones of a name wins
Visibility = Literal["public", "restricted", "private"]


@dataclass
class CollectionStatus:
    name: str
    title: str
    visibility: str
    departments: list[str]
    roles: list[str]
    data_class: str
    documents: int
    chunks: int
    pages: int
    languages: dict[str, int]
    last_ingest: dict[str, Any] | None
    refresh_hours: int | None
    sources: dict[str, Any]
    embedding_model: str


def create(session: Session, principal: Principal, name: str, *, title: str | None = None,
           description: str = "", visibility: Visibility = "public", departments: list[str] | None = None,
           roles: list[str] | None = None, data_class: DataClass = DataClass.OEFFENTLICH,
           embedding_model: str = "", sources: dict[str, Any] | None = None,
           refresh_hours: int | None = None) -> Collection:
    if not NAME.match(name):
        raise BadRequest(f"collection names use a-z, 0-9, '-' and '_' (max 63), not {name!r}")
    if visibility not in ("public", "restricted", "private"):
        raise BadRequest(f"visibility must be public, restricted or private, not {visibility!r}")
    departments = departments or ([] if visibility == "private" else [principal.department])
    if visibility == "restricted" and not (departments or roles):
        raise BadRequest("a restricted collection needs departments or roles that may read it")
    if refresh_hours is not None and not 1 <= refresh_hours <= 24 * 365:
        raise BadRequest("refresh_hours must be between 1 and 8760")
    if not access.can_create(principal, visibility, departments):
        raise Forbidden("creating this collection needs the admin role, or kb-editor for your own department")
    if sources and (sources.get("urls") or sources.get("sitemap")):
        access.require_web_sources(principal)
    # one creation of a name at a time, so two creators who can see each other's collections cannot both pass
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("kb_collections.name:" + name))))
    if session.scalar(sa.select(Collection.id).where(Collection.name == name, access.readable_clause(principal))):
        raise Conflict(f"a collection named {name!r} exists already")
    # a collection of that name the creator cannot read is no conflict (see the module text); also for the new
    # collection's own readers it never displaces an existing one of that name, as lookups take the oldest
    collection = Collection(
        name=name, title=title or name, description=description, visibility=visibility,
        departments=departments, roles=roles or [], data_class=data_class.value,
        owner=principal.id if visibility == "private" else None, embedding_model=embedding_model,
        sources=sources or {}, refresh_hours=refresh_hours,
    )
    session.add(collection)
    session.flush()
    return collection


def get_readable(session: Session, principal: Principal, name: str) -> Collection:
    """The collection, or NotFound both when it is missing and when it may not be read."""
    collection = session.scalars(
        sa.select(Collection).where(Collection.name == name, access.readable_clause(principal))
        .order_by(*BY_AGE).limit(1)
    ).first()
    if collection is None:
        raise NotFound(f"no collection named {name!r}")
    return collection


def get_manageable(session: Session, principal: Principal, name: str) -> Collection:
    collection = get_readable(session, principal, name)
    if not access.can_manage(principal, collection):
        raise Forbidden(f"you may read collection {name!r} but not change it")
    return collection


def readable(session: Session, principal: Principal, names: list[str] | None = None) -> list[Collection]:
    """What ``principal`` may read: all of it, or the collections ``names`` mean (NotFound for any missing)."""
    stmt = sa.select(Collection).where(access.readable_clause(principal)).order_by(Collection.name, *BY_AGE)
    if names is not None:
        stmt = stmt.where(Collection.name.in_(names))
        found: dict[str, Collection] = {}
        for collection in session.scalars(stmt):
            found.setdefault(collection.name, collection)  # the oldest of one name
        missing = sorted(set(names) - set(found))
        if missing:
            raise NotFound(f"no collection named {missing[0]!r}")
        return list(found.values())
    return list(session.scalars(stmt))


def delete(session: Session, principal: Principal, name: str) -> int:
    """Delete a collection with its documents, chunks and vectors; returns the number of documents."""
    collection = get_manageable(session, principal, name)
    documents = session.scalar(sa.select(sa.func.count()).where(Document.collection_id == collection.id)) or 0
    session.execute(sa.delete(Chunk).where(Chunk.collection_id == collection.id))
    session.delete(collection)
    session.flush()
    return documents


def status(session: Session, collection: Collection) -> CollectionStatus:
    documents, pages = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Document.pages), 0))
        .where(Document.collection_id == collection.id)
    ).one()
    chunks = session.scalar(sa.select(sa.func.count()).where(Chunk.collection_id == collection.id)) or 0
    languages = dict(session.execute(
        sa.select(sa.func.coalesce(Document.language, "?"), sa.func.count())
        .where(Document.collection_id == collection.id).group_by(Document.language)
    ).all())
    run = session.scalars(
        sa.select(IngestRun).where(IngestRun.collection_id == collection.id).order_by(IngestRun.started_at.desc())
    ).first()
    last = None
    if run is not None:
        last = {"started_at": run.started_at.isoformat(), "status": run.status, "counts": run.counts,
                "finished_at": run.finished_at.isoformat() if run.finished_at else None}
    return CollectionStatus(
        name=collection.name, title=collection.title, visibility=collection.visibility,
        departments=list(collection.departments), roles=list(collection.roles), data_class=collection.data_class,
        documents=int(documents), chunks=int(chunks), pages=int(pages or 0), languages=languages, last_ingest=last,
        refresh_hours=collection.refresh_hours, sources=dict(collection.sources),
        embedding_model=collection.embedding_model,
    )
