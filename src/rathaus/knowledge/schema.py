"""Tables of the knowledge module: collections, documents, chunks (full text + vectors), ingest runs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

EMBEDDING_DIMENSIONS = 512  # the default embedder (USE multilingual); see docs/decisions/0002-embedder.md


class Collection(Base):
    __tablename__ = "kb_collections"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text, index=True)  # unique among what one can read (collections.py)
    title: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text, server_default="")
    visibility: Mapped[str] = mapped_column(sa.Text)  # public | restricted | private
    departments: Mapped[list[str]] = mapped_column(server_default="{}")
    roles: Mapped[list[str]] = mapped_column(server_default="{}")
    owner: Mapped[str | None] = mapped_column(sa.Text)  # principal id for private collections (chat uploads)
    data_class: Mapped[str] = mapped_column(sa.Text, server_default="oeffentlich")
    embedding_model: Mapped[str] = mapped_column(sa.Text)
    sources: Mapped[dict[str, Any]] = mapped_column(server_default="{}")  # urls / sitemap / folder for refresh
    refresh_hours: Mapped[int | None] = mapped_column(sa.Integer)
    last_refresh: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    chunk_count: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")  # BM25: N
    token_count: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")  # BM25: average length
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint("visibility IN ('public', 'restricted', 'private')", name="ck_kb_visibility"),
    )


class Document(Base):
    __tablename__ = "kb_documents"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    collection_id: Mapped[int] = mapped_column(sa.ForeignKey("kb_collections.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.Text)  # file path, URL or external id: the identity within the collection
    external_id: Mapped[str | None] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.String(8))
    mime: Mapped[str] = mapped_column(sa.Text)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    pages: Mapped[int | None] = mapped_column(sa.Integer)
    modified_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ingested_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    warnings: Mapped[list[str]] = mapped_column(server_default="{}")

    __table_args__ = (
        sa.UniqueConstraint("collection_id", "source", name="uq_kb_documents_source"),
        sa.Index("ix_kb_documents_hash", "collection_id", "content_hash"),
    )


class Chunk(Base):
    __tablename__ = "kb_chunks"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    ord: Mapped[int] = mapped_column(sa.Integer)
    start: Mapped[int] = mapped_column(sa.Integer)  # [start, end) into kb_documents.text
    end: Mapped[int] = mapped_column(sa.Integer)
    heading_path: Mapped[list[str]] = mapped_column(server_default="{}")
    page: Mapped[int | None] = mapped_column(sa.Integer)
    language: Mapped[str | None] = mapped_column(sa.String(8))
    text: Mapped[str] = mapped_column(sa.Text)
    tokens: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # word count, BM25 length norm
    tsv: Mapped[Any] = mapped_column(
        TSVECTOR, sa.Computed("to_tsvector('german', text)", persisted=True)
    )
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    # what the chunk says it answers: document title › headings (an FAQ entry's question); "" when unknown
    context: Mapped[str] = mapped_column(sa.Text, server_default="")
    context_tsv: Mapped[Any] = mapped_column(
        TSVECTOR, sa.Computed("to_tsvector('german', context)", persisted=True)
    )
    context_embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS), nullable=True)

    __table_args__ = (
        # fastupdate off: no pending list, so the planner trusts the index right after an ingest
        sa.Index("ix_kb_chunks_tsv", "tsv", postgresql_using="gin", postgresql_with={"fastupdate": "off"}),
        # m=12, ef_construction=32: 3.2x faster inserts than 16/64 at recall@10 0.999 (ef_search 200),
        # measured on MLQA-de vectors; inserting into the graph is the costliest step of ingestion
        sa.Index(
            "ix_kb_chunks_embedding", "embedding", postgresql_using="hnsw",
            postgresql_with={"m": 12, "ef_construction": 32}, postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        sa.Index("ix_kb_chunks_context_tsv", "context_tsv", postgresql_using="gin",
                 postgresql_with={"fastupdate": "off"}),
        sa.Index(
            "ix_kb_chunks_context_embedding", "context_embedding", postgresql_using="hnsw",
            postgresql_with={"m": 12, "ef_construction": 32},
            postgresql_ops={"context_embedding": "vector_cosine_ops"},
        ),
    )


class Lexeme(Base):
    """Document frequency of each German lexeme per collection: the IDF of BM25 ranking."""

    __tablename__ = "kb_lexemes"
    collection_id: Mapped[int] = mapped_column(sa.ForeignKey("kb_collections.id", ondelete="CASCADE"),
                                               primary_key=True)
    lexeme: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    df: Mapped[int] = mapped_column(sa.Integer)


class IngestRun(Base):
    __tablename__ = "kb_ingest_runs"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    collection_id: Mapped[int] = mapped_column(sa.ForeignKey("kb_collections.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[str] = mapped_column(sa.Text, server_default="running")  # running | done | failed
    counts: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    report: Mapped[dict[str, Any]] = mapped_column(server_default="[]")
