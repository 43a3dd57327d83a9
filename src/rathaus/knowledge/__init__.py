"""Knowledge bases: collections with access rules, ingestion, hybrid search. Public API of the module."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.core.language import detect_language
from rathaus.knowledge.search import Hit, SearchResult, search

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

__all__ = ["Hit", "SearchResult", "detect_language", "document_texts", "readable_collection_names", "search"]


def readable_collection_names(runtime: Runtime, principal: Principal, names: list[str]) -> list[str]:
    """Those of ``names`` that exist and ``principal`` may read (others are silently absent)."""
    from rathaus.knowledge.access import readable_clause
    from rathaus.knowledge.schema import Collection

    with runtime.db.session() as session:
        return list(session.scalars(
            sa.select(Collection.name).where(Collection.name.in_(names), readable_clause(principal)).distinct()
        ))


def document_texts(runtime: Runtime, ids: list[int]) -> dict[int, str]:
    from rathaus.knowledge.schema import Document

    with runtime.db.session() as session:
        return dict(session.execute(sa.select(Document.id, Document.text).where(Document.id.in_(ids))).all())
