"""Knowledge bases: collections, documents, chunks with German full text and pgvector HNSW.

Revision ID: 0002_knowledge
Revises: 0001_core
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql as pg

revision = "0002_knowledge"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kb_collections",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("visibility", sa.Text, nullable=False),
        sa.Column("departments", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("roles", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("owner", sa.Text),
        sa.Column("data_class", sa.Text, nullable=False, server_default="oeffentlich"),
        sa.Column("embedding_model", sa.Text, nullable=False),
        sa.Column("sources", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("refresh_hours", sa.Integer),
        sa.Column("last_refresh", TS),
        sa.Column("chunk_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("token_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("visibility IN ('public', 'restricted', 'private')", name="ck_kb_visibility"),
    )
    op.create_table(
        "kb_documents",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("collection_id", sa.BigInteger, sa.ForeignKey("kb_collections.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("external_id", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("mime", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("pages", sa.Integer),
        sa.Column("modified_at", TS),
        sa.Column("ingested_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("warnings", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.UniqueConstraint("collection_id", "source", name="uq_kb_documents_source"),
    )
    op.create_index("ix_kb_documents_hash", "kb_documents", ["collection_id", "content_hash"])
    op.create_table(
        "kb_chunks",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("document_id", sa.BigInteger, sa.ForeignKey("kb_documents.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("collection_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("ord", sa.Integer, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("heading_path", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("page", sa.Integer),
        sa.Column("language", sa.String(8)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("tsv", pg.TSVECTOR, sa.Computed("to_tsvector('german', text)", persisted=True)),
        sa.Column("embedding", Vector(512), nullable=False),
    )
    op.create_index("ix_kb_chunks_tsv", "kb_chunks", ["tsv"], postgresql_using="gin",
                    postgresql_with={"fastupdate": "off"})
    op.create_index(
        "ix_kb_chunks_embedding", "kb_chunks", ["embedding"], postgresql_using="hnsw",
        postgresql_with={"m": 12, "ef_construction": 32}, postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_table(
        "kb_lexemes",
        sa.Column("collection_id", sa.BigInteger, sa.ForeignKey("kb_collections.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("lexeme", sa.Text, primary_key=True),
        sa.Column("df", sa.Integer, nullable=False),
    )
    op.create_table(
        "kb_ingest_runs",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("collection_id", sa.BigInteger, sa.ForeignKey("kb_collections.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("started_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TS),
        sa.Column("status", sa.Text, nullable=False, server_default="running"),
        sa.Column("counts", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("report", pg.JSONB, nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    for table in ("kb_ingest_runs", "kb_lexemes", "kb_chunks", "kb_documents", "kb_collections"):
        op.drop_table(table)
