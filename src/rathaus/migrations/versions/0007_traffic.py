"""Traffic counts: stations, raw counts, daily weather, import batches, plausibility flags, imputed values.

Revision ID: 0007_traffic
Revises: 0006_assistant_safeguards
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0007_traffic"
down_revision = "0006_assistant_safeguards"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def station_fk() -> sa.ForeignKey:
    return sa.ForeignKey("traffic_stations.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "traffic_stations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("directions", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("notes", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('bike', 'detector')", name="ck_traffic_station_kind"),
    )
    op.create_table(
        "traffic_imports",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text),
        sa.Column("delimiter", sa.Text),
        sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stored", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("conflicts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("summary", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("problems", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("problems_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("seconds", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_traffic_imports_sha256", "traffic_imports", ["sha256"])
    op.create_table(
        "traffic_counts",
        sa.Column("station_id", sa.Text, station_fk(), primary_key=True),
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("resolution", sa.Text, primary_key=True),
        sa.Column("ts", TS, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("import_id", sa.BigInteger, nullable=False),  # no foreign key: see TrafficCount
        sa.CheckConstraint("resolution IN ('day', '15min')", name="ck_traffic_count_resolution"),
        sa.CheckConstraint("value >= 0", name="ck_traffic_count_nonneg"),
    )
    op.create_table(
        "traffic_weather",
        sa.Column("station_id", sa.Text, station_fk(), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("min_temp", sa.Float),
        sa.Column("max_temp", sa.Float),
        sa.Column("precipitation", sa.Float),
        sa.Column("cloud_cover", sa.Float),
        sa.Column("sunshine_hours", sa.Float),
        sa.Column("import_id", sa.BigInteger, sa.ForeignKey("traffic_imports.id"), nullable=False),
    )
    op.create_table(
        "traffic_flags",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("station_id", sa.Text, station_fk(), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("resolution", sa.Text, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("check_name", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_traffic_flags_series", "traffic_flags", ["station_id", "channel", "resolution", "ts"])
    op.create_table(
        "traffic_imputed",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("station_id", sa.Text, station_fk(), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("resolution", sa.Text, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("lower", sa.Float),
        sa.Column("upper", sa.Float),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_traffic_imputed_series", "traffic_imputed", ["station_id", "channel", "resolution", "ts"])


def downgrade() -> None:
    for table in ("traffic_imputed", "traffic_flags", "traffic_weather", "traffic_counts", "traffic_imports",
                  "traffic_stations"):
        op.drop_table(table)
