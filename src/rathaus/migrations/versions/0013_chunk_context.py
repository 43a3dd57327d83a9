"""What a chunk says it answers as a field of its own: the document title and the chunk's headings
(an FAQ entry's official question, a page's title), with its own full-text vector and embedding, so
search can weight it separately from the body (issue 17: citizens' questions match titles best).

Chunks ingested before this revision have an empty context and no context vector; they are found by
their body as before until their document is re-ingested.

Revision ID: 0013_chunk_context
Revises: 0012_jobs
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql as pg

revision = "0013_chunk_context"
down_revision = "0012_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kb_chunks", sa.Column("context", sa.Text, nullable=False, server_default=""))
    op.add_column("kb_chunks", sa.Column("context_tsv", pg.TSVECTOR,
                                         sa.Computed("to_tsvector('german', context)", persisted=True)))
    op.add_column("kb_chunks", sa.Column("context_embedding", Vector(512), nullable=True))
    op.create_index("ix_kb_chunks_context_tsv", "kb_chunks", ["context_tsv"], postgresql_using="gin",
                    postgresql_with={"fastupdate": "off"})
    op.create_index(
        "ix_kb_chunks_context_embedding", "kb_chunks", ["context_embedding"], postgresql_using="hnsw",
        postgresql_with={"m": 12, "ef_construction": 32}, postgresql_ops={"context_embedding": "vector_cosine_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_kb_chunks_context_embedding", table_name="kb_chunks")
    op.drop_index("ix_kb_chunks_context_tsv", table_name="kb_chunks")
    op.drop_column("kb_chunks", "context_embedding")
    op.drop_column("kb_chunks", "context_tsv")
    op.drop_column("kb_chunks", "context")
