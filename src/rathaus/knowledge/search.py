"""Hybrid retrieval in PostgreSQL: German full text (tsvector) + pgvector, fused by reciprocal rank.

Four ranked lists in hybrid mode: the body's BM25 and vector, and – for chunks that say what they
answer (document title and headings: an FAQ entry's official question) – that context's vector and
its BM25 match. Citizens word questions differently from the authority, but a question is closest to
the question an entry answers; the lists' weights (``FUSION_WEIGHTS``) were chosen on the tuning half
of the FAQ questions (bench/retrieval_faq.py, docs/benchmarks.md).

Only collections the caller may read are searched (the access rule is part of the SQL). The full-text
query ORs the question's lexemes (a natural question rarely contains *all* words of a passage), ranked
with ``ts_rank_cd``. Vector search uses the HNSW index for large scopes and an exact scan for small
ones (pgvector filters after the index scan, which could starve small collections of results).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest
from rathaus.knowledge import collections, embedders
from rathaus.knowledge.schema import Chunk, Collection, Document, Lexeme
from rathaus.models.gateway import CallContext

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

Mode = Literal["hybrid", "fts", "vector"]
BM25_K1, BM25_B = 1.2, 0.75
MAX_QUERY_TERMS = 12
CANDIDATE_BUDGET = 500  # chunks matched by the rare terms that select BM25 candidates
_QUERY_LEXEMES = sa.text("SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('german', :q)))")
RRF_K = 60
# Weights of the ranked lists in the reciprocal-rank fusion. Chosen on the tuning half of
# official-faq-de's questions (bench/retrieval_faq.py); collections without titles (MLQA) have no
# context lists, so their ranking is the body's fusion as before.
FUSION_WEIGHTS: dict[str, float] = {"fts": 1.0, "vector": 1.0, "context_vector": 6.0, "context_fts": 1.0}
# Where an embedder's vectors deserve other weights, chosen the same way with a collection of that embedder
# (bench/retrieval_faq.py, e5 collection: grid incl. the body vector's weight on the tuning half, best 0.451 there;
# 0.457 on the report half against 0.452 with FUSION_WEIGHTS). e5's vectors carry more of the ranking than USE's.
FUSION_WEIGHTS_BY_EMBEDDER: dict[str, dict[str, float]] = {
    "multilingual-e5-small": {"fts": 1.0, "vector": 8.0, "context_vector": 12.0, "context_fts": 2.0},
}
EXACT_SCAN_LIMIT = 2_000  # chunks in scope; below this an exact scan is cheap (~12 ms) and never misses
MAX_QUERY_CHARS = 2000


@dataclass
class Hit:
    chunk_id: int
    document_id: int
    collection: str
    title: str
    url: str | None
    source: str
    external_id: str | None
    text: str
    heading_path: list[str]
    page: int | None
    start: int
    end: int
    language: str | None
    modified_at: dt.datetime | None
    score: float = 0.0
    vector_score: float | None = None  # cosine similarity
    fts_rank: float | None = None
    ranks: dict[str, int] = field(default_factory=dict)


@dataclass
class SearchResult:
    hits: list[Hit]
    collections: list[str]
    embedding_metrics: dict[str, Any] | None = None


def _scope(session: Session, principal: Principal, names: list[str] | None) -> list[Collection]:
    return collections.readable(session, principal, names)


def _filters(ids: list[int], language: str | None, modified_after: dt.datetime | None,
             modified_before: dt.datetime | None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Chunk.collection_id.in_(ids)]
    if language:
        where.append(Chunk.language == language)
    dates = []
    if modified_after:
        dates.append(Document.modified_at >= modified_after)
    if modified_before:
        dates.append(Document.modified_at < modified_before)
    if dates:
        where.append(Chunk.document_id.in_(sa.select(Document.id).where(*dates)))
    return where


TermStats = tuple[list[str], int, float, dict[str, int]]


def _fts(session: Session, stats: TermStats | None, where: list[sa.ColumnElement[bool]],
         limit: int) -> list[tuple[int, float]]:
    """BM25 over PostgreSQL's German lexemes (stemmed, stop words removed) with per-collection IDF."""
    if stats is None:
        return []
    _, n_docs, avg_len, df = stats
    weighted = sorted(((t, math.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5))) for t in df), key=lambda x: -x[1])
    if len(weighted) > 1:  # terms in more than half of all chunks carry no information but cost time
        weighted = [w for w in weighted if df[w[0]] <= n_docs / 2] or weighted[:1]
    weighted = weighted[:MAX_QUERY_TERMS]
    if not weighted:
        return []
    # Candidates: chunks holding one of the rarest terms, up to a budget of matches. BM25's best results
    # almost always contain a rare query term, and the cost stays bounded on big collections; a query
    # made only of very common words is left to the vector search.
    selective, budget = [], 0
    for term, _ in weighted:  # sorted by IDF, i.e. rarest first
        if budget + df[term] > CANDIDATE_BUDGET:
            break
        selective.append(term)
        budget += df[term]
    if not selective:
        return []
    return _bm25_rows(session, weighted, selective, float(avg_len or 1.0), where, limit)


def _term_stats(session: Session, query: str, scope: list[Collection]) -> TermStats | None:
    """The query's German lexemes, the scope's chunk count and mean length, and each lexeme's document
    frequency in the bodies (lexemes no body contains are missing from the dict)."""
    n_docs = sum(c.chunk_count or 0 for c in scope)
    tokens = sum(c.token_count or 0 for c in scope)
    ids = [c.id for c in scope]
    if not n_docs:
        return None
    terms = list(session.scalars(_QUERY_LEXEMES, {"q": query}))
    if not terms:
        return None
    df = {t: int(n) for t, n in session.execute(
        sa.select(Lexeme.lexeme, sa.func.sum(Lexeme.df)).where(Lexeme.collection_id.in_(ids), Lexeme.lexeme.in_(terms))
        .group_by(Lexeme.lexeme)
    )}
    return terms, int(n_docs), float(tokens) / int(n_docs), df


def _context_fts(session: Session, stats: TermStats | None, where: list[sa.ColumnElement[bool]],
                 limit: int) -> list[tuple[int, float]]:
    """Chunks whose context (title, headings) shares the query's lexemes, scored by the sum of their IDF
    (from the bodies; a lexeme no body holds counts as rare). Titles are short: no length norm."""
    if stats is None:
        return []
    terms, n_docs, _, df = stats
    idf = {t: math.log(1 + (n_docs - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in terms
           if df.get(t, 0) <= n_docs / 2}
    weighted = sorted(idf.items(), key=lambda x: -x[1])[:MAX_QUERY_TERMS]
    if not weighted:
        return []
    return _lexeme_rows(session, Chunk.context_tsv, weighted, [t for t, _ in weighted],
                        lambda idf_, _tf: idf_, where, limit)


def _bm25_rows(session: Session, weighted: list[tuple[str, float]], selective: list[str], avg_len: float,
               where: list[sa.ColumnElement[bool]], limit: int) -> list[tuple[int, float]]:
    norm = BM25_K1 * (1 - BM25_B + BM25_B * Chunk.tokens / avg_len)
    return _lexeme_rows(session, Chunk.tsv, weighted, selective,
                        lambda idf_, tf: idf_ * tf * (BM25_K1 + 1) / (tf + norm), where, limit)


def _lexeme_rows(session: Session, tsv: Any, weighted: list[tuple[str, float]], matching: list[str],
                 term_score: Callable[[Any, Any], Any], where: list[sa.ColumnElement[bool]],
                 limit: int) -> list[tuple[int, float]]:
    """Chunks whose ``tsv`` matches any of ``matching``, ranked by the sum over the query's ``weighted`` lexemes
    (lexeme, idf) of ``term_score(idf, term frequency)``."""
    q = sa.select(
        sa.func.unnest(sa.cast([t for t, _ in weighted], ARRAY(sa.Text))).label("lexeme"),
        sa.func.unnest(sa.cast([w for _, w in weighted], ARRAY(sa.Float))).label("idf"),
    ).subquery("q")
    tsquery = sa.func.to_tsquery("simple", " | ".join(_quote(t) for t in matching))
    lex = sa.func.unnest(tsv).table_valued("lexeme", "positions", "weights").lateral("u")
    score = sa.func.sum(term_score(q.c.idf, sa.func.cardinality(lex.c.positions))).label("score")
    stmt = (
        sa.select(Chunk.id, score)
        .select_from(Chunk)
        .join(lex, sa.true())
        .join(q, q.c.lexeme == lex.c.lexeme)
        .where(*where, tsv.op("@@")(tsquery))
        .group_by(Chunk.id)
        .order_by(sa.desc("score"), Chunk.id)
        .limit(limit)
    )
    return [(r.id, float(r.score)) for r in session.execute(stmt)]


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _vector(session: Session, vector: list[float], where: list[sa.ColumnElement[bool]], limit: int,
            exact: bool, column: Any = Chunk.embedding) -> list[tuple[int, float]]:
    distance = column.cosine_distance(vector)
    if column is not Chunk.embedding:  # the context vector is optional
        where = [*where, column.is_not(None)]
    if exact:  # an OFFSET 0 subquery keeps the planner from the index: one distance per chunk, no misses
        inner = sa.select(Chunk.id, distance.label("d")).where(*where).offset(0).subquery()
        stmt = sa.select(inner.c.id, (1 - inner.c.d).label("sim")).order_by(inner.c.d).limit(limit)
    else:
        session.execute(sa.text("SET LOCAL hnsw.ef_search = 200"))
        stmt = sa.select(Chunk.id, (1 - distance).label("sim")).where(*where).order_by(distance).limit(limit)
    return [(r.id, float(r.sim)) for r in session.execute(stmt)]


def fusion_weights(embedders_in_scope: list[str]) -> dict[str, float]:
    """The fusion weights for a search whose collections use these embedders: the embedder's own where it has
    them and is the only one in scope, otherwise ``FUSION_WEIGHTS``."""
    if len(embedders_in_scope) == 1:
        return FUSION_WEIGHTS_BY_EMBEDDER.get(embedders_in_scope[0], FUSION_WEIGHTS)
    return FUSION_WEIGHTS


def fuse(ranked: dict[str, list[tuple[int, float]]], weights: dict[str, float] | None = None
         ) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion; ties go to the better vector rank, then the lower id (deterministic)."""
    weights = weights or {}
    scores: dict[int, float] = {}
    vector_rank: dict[int, int] = {cid: r for r, (cid, _) in enumerate(ranked.get("vector", []), 1)}
    for name, items in ranked.items():
        w = weights.get(name, 1.0)
        for rank, (cid, _) in enumerate(items, 1):
            scores[cid] = scores.get(cid, 0.0) + w / (RRF_K + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], vector_rank.get(kv[0], 10**9), kv[0]))


def search(runtime: Runtime, principal: Principal, query: str, *, collection_names: list[str] | None = None,
           k: int = 10, mode: Mode = "hybrid", language: str | None = None,
           modified_after: dt.datetime | None = None, modified_before: dt.datetime | None = None,
           candidates: int = 50, data_class: DataClass = DataClass.OEFFENTLICH, use_case: str = "kb-search",
           metering_principal: Principal | None = None, rescore: bool = False,
           weights: dict[str, float] | None = None) -> SearchResult:
    """Search the collections ``principal`` may read (all of them, or the named ones).

    ``weights`` overrides ``FUSION_WEIGHTS`` for the hybrid fusion (benchmarks tune them with it)."""
    query = " ".join(query.split())
    if not query:
        raise BadRequest("the search query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"the search query is too long ({len(query)} characters, at most {MAX_QUERY_CHARS})")
    if not 1 <= k <= 100:
        raise BadRequest("k must be between 1 and 100")
    with runtime.db.session() as session:
        scope = _scope(session, principal, collection_names)
        ids = [c.id for c in scope]
        names = {c.id: c.name for c in scope}
        sizes = {c.id: c.chunk_count or 0 for c in scope}
        by_embedder: dict[str, list[int]] = {}
        for c in scope:
            by_embedder.setdefault(embedders.embedder_of(runtime, c.embedding_model), []).append(c.id)
    if not ids:
        return SearchResult([], [])
    vectors: dict[str, list[float]] = {}  # the question embedded by each embedder the collections in scope use
    metered: list[dict[str, Any]] = []
    if mode in ("hybrid", "vector"):
        ctx = CallContext(principal=metering_principal or principal, data_class=data_class, use_case=use_case)
        for model in by_embedder:  # batched with concurrent searches, repeated questions from the cache
            outcome = runtime.gateway.embed_query(ctx, query, model=model)
            vectors[model] = embedders.fitted(outcome.vectors)[0]
            if not outcome.cached:
                metered.append(outcome.metrics.as_dict())
    with runtime.db.session() as session:
        where = _filters(ids, language, modified_after, modified_before)
        ranked: dict[str, list[tuple[int, float]]] = {}
        stats = _term_stats(session, query, scope) if mode in ("hybrid", "fts") else None  # once for both lists
        if mode in ("hybrid", "fts"):
            ranked["fts"] = _fts(session, stats, where, candidates)
        if vectors:
            columns = {"vector": Chunk.embedding}
            if mode == "hybrid":  # chunks without a context are simply absent from the context lists
                columns["context_vector"] = Chunk.context_embedding
            for list_name, column in columns.items():
                ranked[list_name] = _interleave([
                    _vector_in(session, vectors[model], group, sum(sizes[i] for i in group), language,
                               modified_after, modified_before, candidates, column)
                    for model, group in by_embedder.items()])
            if mode == "hybrid":
                ranked["context_fts"] = _context_fts(session, stats, where, candidates)
        if mode != "hybrid":
            fused = [(cid, s) for cid, s in ranked[mode][:k]]
        elif rescore and len(vectors) == 1:
            fused = _rescore(session, ranked, next(iter(vectors.values())))[:k]
        else:
            fused = fuse(ranked, fusion_weights(list(by_embedder)) if weights is None else weights)[:k]
        hits = _load_hits(session, fused, ranked, names)
    return SearchResult(hits, [names[i] for i in ids], embedders.summed_metrics(metered))


def _vector_in(session: Session, vector: list[float], ids: list[int], size: int, language: str | None,
               modified_after: dt.datetime | None, modified_before: dt.datetime | None, candidates: int,
               column: Any) -> list[tuple[int, float]]:
    """The nearest chunks of the collections ``ids`` (all embedded by one model, ``size`` chunks together) to
    ``vector``: the HNSW index for large scopes, an exact scan for small ones or when the index's filtered scan
    came up short."""
    where = _filters(ids, language, modified_after, modified_before)
    found = _vector(session, vector, where, candidates, exact=size <= EXACT_SCAN_LIMIT, column=column)
    if column is Chunk.embedding and len(found) < min(candidates, size):
        found = _vector(session, vector, where, candidates, exact=True, column=column)
    return found


def _interleave(lists: list[list[tuple[int, float]]]) -> list[tuple[int, float]]:
    """One ranked list from the lists of collections with different embedders, whose similarities are not
    comparable: their first places, then their second places, … (one list: unchanged)."""
    if len(lists) == 1:
        return lists[0]
    return [item for rank in zip_longest(*lists) for item in rank if item is not None]


RESCORE_VECTOR_WEIGHT = 0.6


def _rescore(session: Session, ranked: dict[str, list[tuple[int, float]]],
             vector: list[float]) -> list[tuple[int, float]]:
    """Optional re-scoring: every candidate of either list gets its exact cosine similarity, and the
    final score mixes min-max normalised cosine and BM25 (score fusion instead of rank fusion)."""
    bm25 = dict(ranked.get("fts", []))
    ids = list({cid for items in ranked.values() for cid, _ in items})
    if not ids:
        return []
    cosine: dict[int, float] = dict(session.execute(
        sa.select(Chunk.id, 1 - Chunk.embedding.cosine_distance(vector)).where(Chunk.id.in_(ids))).all())

    def normalised(values: dict[int, float]) -> dict[int, float]:
        if not values:
            return {}
        lo, hi = min(values.values()), max(values.values())
        return {k: (v - lo) / (hi - lo) if hi > lo else 1.0 for k, v in values.items()}

    c, b = normalised({k: float(v) for k, v in cosine.items()}), normalised(bm25)
    scores = {cid: RESCORE_VECTOR_WEIGHT * c.get(cid, 0.0) + (1 - RESCORE_VECTOR_WEIGHT) * b.get(cid, 0.0)
              for cid in ids}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _load_hits(session: Session, fused: list[tuple[int, float]], ranked: dict[str, list[tuple[int, float]]],
               names: dict[int, str]) -> list[Hit]:
    if not fused:
        return []
    ids = [cid for cid, _ in fused]
    rows = {r.Chunk.id: r for r in session.execute(
        sa.select(Chunk, Document.title, Document.url, Document.source, Document.external_id, Document.modified_at)
        .join(Document, Document.id == Chunk.document_id).where(Chunk.id.in_(ids))
    )}
    lookup = {name: {cid: (rank, value) for rank, (cid, value) in enumerate(items, 1)}
              for name, items in ranked.items()}
    hits = []
    for cid, score in fused:
        row = rows[cid]
        c = row.Chunk
        hit = Hit(
            chunk_id=c.id, document_id=c.document_id, collection=names[c.collection_id], title=row.title,
            url=row.url, source=row.source, external_id=row.external_id, text=c.text, heading_path=list(c.heading_path),
            page=c.page, start=c.start, end=c.end, language=c.language, modified_at=row.modified_at, score=score,
        )
        for name, table in lookup.items():
            if cid in table:
                hit.ranks[name] = table[cid][0]
                if name == "vector":
                    hit.vector_score = table[cid][1]
                elif name == "fts":
                    hit.fts_rank = table[cid][1]
        hits.append(hit)
    return hits
