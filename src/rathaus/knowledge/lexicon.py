"""Per-collection document frequencies of German lexemes, kept in step with the chunks.

BM25 needs, for each query term, in how many chunks it occurs; PostgreSQL's ``ts_stat`` counts that
for the chunks of one document, and these counts are added on insert and subtracted on delete inside
the same transaction as the chunks themselves.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

WORD = re.compile(r"\w+", re.UNICODE)

_STATS = "format('SELECT tsv FROM kb_chunks WHERE document_id = %s', CAST(:doc AS bigint))"
_ADD = sa.text(f"""
    INSERT INTO kb_lexemes (collection_id, lexeme, df)
    SELECT :collection, s.word, s.ndoc FROM ts_stat({_STATS}) s
    ON CONFLICT (collection_id, lexeme) DO UPDATE SET df = kb_lexemes.df + EXCLUDED.df
""")
_SUBTRACT = sa.text(f"""
    UPDATE kb_lexemes l SET df = l.df - s.ndoc FROM ts_stat({_STATS}) s
    WHERE l.collection_id = :collection AND l.lexeme = s.word
""")
_PRUNE = sa.text("DELETE FROM kb_lexemes WHERE collection_id = :collection AND df <= 0")
_COUNT = sa.text("""
    UPDATE kb_collections SET chunk_count = chunk_count + :sign * s.n, token_count = token_count + :sign * s.t
    FROM (SELECT count(*) AS n, coalesce(sum(tokens), 0) AS t FROM kb_chunks WHERE document_id = :doc) s
    WHERE kb_collections.id = :collection
""")


def add_document(conn: Connection, collection_id: int, document_id: int) -> None:
    conn.execute(_ADD, {"collection": collection_id, "doc": document_id})
    conn.execute(_COUNT, {"collection": collection_id, "doc": document_id, "sign": 1})


def remove_document(conn: Connection, collection_id: int, document_id: int) -> None:
    """Call before the document's chunks are deleted."""
    conn.execute(_SUBTRACT, {"collection": collection_id, "doc": document_id})
    conn.execute(_COUNT, {"collection": collection_id, "doc": document_id, "sign": -1})
    conn.execute(_PRUNE, {"collection": collection_id})


def word_count(text: str) -> int:
    return len(WORD.findall(text))
