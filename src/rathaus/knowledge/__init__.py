"""Knowledge bases: collections with access rules, ingestion, hybrid search. Public API of the module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.auth import Principal
from rathaus.core.language import detect_language
from rathaus.knowledge.access import ANONYMOUS
from rathaus.knowledge.document import ExtractedDocument, ExtractionError
from rathaus.knowledge.extract import extract_bytes
from rathaus.knowledge.search import Hit, SearchResult, search

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

__all__ = ["ANONYMOUS", "ExtractedDocument", "ExtractionError", "Hit", "SearchResult", "collection_name",
           "delete_collections", "detect_language", "document_texts", "extract_bytes", "readable_collection_names",
           "search"]


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


def collection_name(session: Session, collection_id: int) -> str | None:
    """The name of a collection (e.g. the private collection of a chat's uploads), None if it is gone."""
    from rathaus.knowledge.schema import Collection

    collection = session.get(Collection, collection_id)
    return collection.name if collection else None


def delete_collections(session: Session, collection_ids: list[int]) -> dict[str, int]:
    """Delete collections with their documents, chunks and vectors (in the caller's transaction); how many documents
    and chunks went with them."""
    from sqlalchemy.engine import CursorResult

    from rathaus.knowledge.schema import Chunk, Collection, Document

    if not collection_ids:
        return {"documents": 0, "chunks": 0}
    documents = session.scalar(sa.select(sa.func.count()).where(Document.collection_id.in_(collection_ids))) or 0
    chunks = cast("CursorResult[Any]", session.execute(sa.delete(Chunk).where(Chunk.collection_id.in_(collection_ids))))
    session.execute(sa.delete(Collection).where(Collection.id.in_(collection_ids)))  # documents, lexemes cascade
    return {"documents": documents, "chunks": chunks.rowcount}
