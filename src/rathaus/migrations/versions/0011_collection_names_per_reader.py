"""Collection names are unique among what their creator can read, no longer platform-wide.

A platform-wide unique name let anyone signed in probe for other departments' restricted and other people's
private collections: "exists already" confirmed a name one may not see. The rule now lives in
rathaus.knowledge.collections.create; the database keeps a plain index for lookups by name.

Downgrading fails while two collections share a name; rename one of them first.

Revision ID: 0011_collection_names
Revises: 0010_feedback_token
Create Date: 2026-11-23
"""

from alembic import op

revision = "0011_collection_names"
down_revision = "0010_feedback_token"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("kb_collections_name_key", "kb_collections", type_="unique")
    op.create_index("ix_kb_collections_name", "kb_collections", ["name"])


def downgrade() -> None:
    op.drop_index("ix_kb_collections_name", table_name="kb_collections")
    op.create_unique_constraint("kb_collections_name_key", "kb_collections", ["name"])
