"""Who may read and who may manage a collection. Every search and answer goes through these rules.

* ``public``: everyone, including anonymous citizens.
* ``restricted``: principals whose department is listed, or who hold one of the listed roles.
* ``private``: only its owner (e.g. the documents uploaded into one employee's chat).

Managing (ingest, delete) needs the ``admin`` role, or the ``kb-editor`` role in a listed department;
private collections are managed by their owner. Web sources (URLs, sitemaps) make the server fetch on the
caller's behalf, so they need ``kb-editor`` or ``admin`` even for a private collection. An unreadable
collection looks exactly like a missing one, so its existence does not leak.
"""

from __future__ import annotations

import sqlalchemy as sa

from rathaus.core.auth import ADMIN_ROLE, Principal
from rathaus.core.errors import Forbidden
from rathaus.knowledge.schema import Collection

EDITOR_ROLE = "kb-editor"
ANONYMOUS = Principal(id="anonymous", kind="anonymous", department="-", roles=frozenset())


def readable_clause(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL condition on kb_collections selecting what ``principal`` may read."""
    conditions = [
        Collection.visibility == "public",
        sa.and_(Collection.visibility == "private", Collection.owner == principal.id),
    ]
    if principal.kind != "anonymous":
        conditions.append(sa.and_(
            Collection.visibility == "restricted",
            sa.or_(
                sa.literal(principal.department) == sa.any_(Collection.departments),
                Collection.roles.overlap(sorted(principal.roles)) if principal.roles else sa.false(),
            ),
        ))
    return sa.or_(*conditions)


def can_manage(principal: Principal, collection: Collection) -> bool:
    if collection.visibility == "private":
        return collection.owner == principal.id
    if ADMIN_ROLE in principal.roles:
        return True
    return EDITOR_ROLE in principal.roles and principal.department in collection.departments


def can_create(principal: Principal, visibility: str, departments: list[str]) -> bool:
    if visibility == "private":
        return True
    if ADMIN_ROLE in principal.roles:
        return True
    return EDITOR_ROLE in principal.roles and departments == [principal.department]


def can_use_web_sources(principal: Principal) -> bool:
    """Whether ``principal`` may make the server fetch web pages (URL and sitemap ingestion, web sources)."""
    return bool({ADMIN_ROLE, EDITOR_ROLE} & principal.roles)


def require_web_sources(principal: Principal) -> None:
    if not can_use_web_sources(principal):
        raise Forbidden(f"ingesting web pages (urls, sitemap) needs the role {EDITOR_ROLE} or {ADMIN_ROLE}")
