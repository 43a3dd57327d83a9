"""Tables of traffic counts: stations, raw counts (never overwritten), daily weather, import batches, and
the plausibility flags and imputed values written by the modelling side (kept apart from the raw values)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)


class TrafficStation(Base):
    """A bicycle counting station or a traffic detector."""

    __tablename__ = "traffic_stations"
    id: Mapped[str] = mapped_column(sa.Text, primary_key=True)  # e.g. "Arnulf" or a detector id
    name: Mapped[str | None] = mapped_column(sa.Text)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    directions: Mapped[list[str]] = mapped_column(server_default="{}")  # richtung_1, richtung_2 names
    notes: Mapped[str | None] = mapped_column(sa.Text)  # besonderheiten: construction sites, sensor changes
    kind: Mapped[str] = mapped_column(sa.Text)  # bike | detector
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (sa.CheckConstraint("kind IN ('bike', 'detector')", name="ck_traffic_station_kind"),)


class TrafficImport(Base):
    """One imported file: what was read, stored, unchanged, rejected, and its problems."""

    __tablename__ = "traffic_imports"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    file_name: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.Text, index=True)
    kind: Mapped[str] = mapped_column(sa.Text)  # bike-daily | bike-15min | detectors | stations
    encoding: Mapped[str | None] = mapped_column(sa.Text)
    delimiter: Mapped[str | None] = mapped_column(sa.Text)
    rows_read: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # data lines of the file
    stored: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # values (station×channel×time)
    unchanged: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rejected: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    conflicts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # weather, empty, stations …
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")  # [{line, column, reason}]
    problems_total: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    seconds: Mapped[float] = mapped_column(sa.Float, server_default="0")


class TrafficCount(Base):
    """A raw count as published; the key makes re-imports idempotent and a stored value is never changed."""

    __tablename__ = "traffic_counts"
    station_id: Mapped[str] = mapped_column(sa.Text, sa.ForeignKey("traffic_stations.id", ondelete="CASCADE"),
                                            primary_key=True)
    channel: Mapped[str] = mapped_column(sa.Text, primary_key=True)  # gesamt | richtung_1 | richtung_2
    resolution: Mapped[str] = mapped_column(sa.Text, primary_key=True)  # day | 15min
    ts: Mapped[dt.datetime] = mapped_column(TS, primary_key=True)  # interval start, UTC
    value: Mapped[int] = mapped_column(sa.Integer)
    # the batch that stored the value; no foreign key on purpose: batches are never deleted, and the per-row
    # foreign-key triggers cost time on bulk imports (0.9 M values: insert 59 s with both keys, 27 s without
    # either); the key on station_id is kept for integrity and cascading deletes
    import_id: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint("resolution IN ('day', '15min')", name="ck_traffic_count_resolution"),
        sa.CheckConstraint("value >= 0", name="ck_traffic_count_nonneg"),
    )


class TrafficWeather(Base):
    """Daily weather as published next to the daily bicycle counts; NULL when the city left it empty."""

    __tablename__ = "traffic_weather"
    station_id: Mapped[str] = mapped_column(sa.Text, sa.ForeignKey("traffic_stations.id", ondelete="CASCADE"),
                                            primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    min_temp: Mapped[float | None] = mapped_column(sa.Float)  # °C
    max_temp: Mapped[float | None] = mapped_column(sa.Float)  # °C
    precipitation: Mapped[float | None] = mapped_column(sa.Float)  # mm
    cloud_cover: Mapped[float | None] = mapped_column(sa.Float)  # %
    sunshine_hours: Mapped[float | None] = mapped_column(sa.Float)  # h
    import_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("traffic_imports.id"))


class TrafficFlag(Base):
    """A plausibility finding on one raw value (written by the checks, never changes the raw value)."""

    __tablename__ = "traffic_flags"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    station_id: Mapped[str] = mapped_column(sa.Text, sa.ForeignKey("traffic_stations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.Text)
    resolution: Mapped[str] = mapped_column(sa.Text)
    ts: Mapped[dt.datetime] = mapped_column(TS)
    check_name: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    run_id: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_traffic_flags_series", "station_id", "channel", "resolution", "ts"),)


class TrafficImputed(Base):
    """A filled value with its interval and method; stored apart from the raw counts."""

    __tablename__ = "traffic_imputed"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    station_id: Mapped[str] = mapped_column(sa.Text, sa.ForeignKey("traffic_stations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.Text)
    resolution: Mapped[str] = mapped_column(sa.Text)
    ts: Mapped[dt.datetime] = mapped_column(TS)
    value: Mapped[float] = mapped_column(sa.Float)
    lower: Mapped[float | None] = mapped_column(sa.Float)
    upper: Mapped[float | None] = mapped_column(sa.Float)
    method: Mapped[str] = mapped_column(sa.Text)
    run_id: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_traffic_imputed_series", "station_id", "channel", "resolution", "ts"),)
