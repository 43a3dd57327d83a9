"""Tables of the platform core. Capability packages add their own tables in their own migrations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSONB, list[str]: ARRAY(sa.Text)}


def _now() -> sa.ColumnElement[dt.datetime]:
    return sa.func.now()


class ApiKey(Base):
    """A service account of another city application; only a hash of the secret is stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    department: Mapped[str] = mapped_column(sa.Text)
    roles: Mapped[list[str]] = mapped_column(server_default="{}")
    prefix: Mapped[str] = mapped_column(sa.Text, index=True)
    secret_hash: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class BudgetLimit(Base):
    """Standing monthly limits of a department; NULL means no limit of that kind."""

    __tablename__ = "budget_limits"
    department: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    eur_per_month: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 4))
    tokens_per_month: Mapped[int | None] = mapped_column(sa.BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())

    __table_args__ = (
        sa.CheckConstraint("eur_per_month IS NULL OR eur_per_month >= 0", name="ck_budget_eur_nonneg"),
        sa.CheckConstraint("tokens_per_month IS NULL OR tokens_per_month >= 0", name="ck_budget_tok_nonneg"),
    )


class BudgetUsage(Base):
    """What a department has reserved or spent in a month (YYYY-MM)."""

    __tablename__ = "budget_usage"
    department: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    eur_used: Mapped[Decimal] = mapped_column(sa.Numeric(18, 8), server_default="0")
    tokens_used: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")


class UsageEvent(Base):
    """One model call as metered by the gateway."""

    __tablename__ = "usage_events"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now(), index=True)
    request_id: Mapped[str] = mapped_column(sa.Text)
    department: Mapped[str] = mapped_column(sa.Text)
    principal: Mapped[str] = mapped_column(sa.Text)
    principal_kind: Mapped[str] = mapped_column(sa.Text)
    use_case: Mapped[str] = mapped_column(sa.Text)
    model: Mapped[str] = mapped_column(sa.Text)
    provider: Mapped[str] = mapped_column(sa.Text)
    operation: Mapped[str] = mapped_column(sa.Text)
    data_class: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text)
    prompt_tokens: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    latency_ms: Mapped[float] = mapped_column(sa.Float, server_default="0")
    cost_eur: Mapped[Decimal] = mapped_column(sa.Numeric(18, 8), server_default="0")
    energy_wh: Mapped[float] = mapped_column(sa.Float, server_default="0")
    gco2e: Mapped[float] = mapped_column(sa.Float, server_default="0")
    cpu_seconds: Mapped[float | None] = mapped_column(sa.Float)

    __table_args__ = (sa.Index("ix_usage_events_department_ts", "department", "ts"),)


class AuditRecord(Base):
    """Append-only, hash-chained record (EU AI Act Art. 12). A trigger rejects UPDATE and DELETE."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(sa.Text)
    department: Mapped[str] = mapped_column(sa.Text)
    use_case: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str] = mapped_column(sa.Text)
    model: Mapped[str | None] = mapped_column(sa.Text)
    model_version: Mapped[str | None] = mapped_column(sa.Text)
    data_class: Mapped[str | None] = mapped_column(sa.Text)
    input_hash: Mapped[str | None] = mapped_column(sa.Text)
    output_hash: Mapped[str | None] = mapped_column(sa.Text)
    sources: Mapped[dict[str, Any]] = mapped_column(server_default="[]")
    safeguards: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    energy_wh: Mapped[float | None] = mapped_column(sa.Float)
    details: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    prev_hash: Mapped[str] = mapped_column(sa.Text)
    hash: Mapped[str] = mapped_column(sa.Text)


class AuditHead(Base):
    """The chain's current end and the anchor left by retention purges (a single row, id = 1)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.Text)
    anchor_seq: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    anchor_hash: Mapped[str] = mapped_column(sa.Text)

    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),)


class WebSession(Base):
    """Server-side sessions of the web UI (API replicas stay stateless)."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(sa.Text, primary_key=True)  # SHA-256 of the cookie value
    principal: Mapped[dict[str, Any]] = mapped_column()
    csrf: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class RateLimit(Base):
    """Fixed-window request counters of :mod:`rathaus.core.ratelimit` (keys are hashes, never raw addresses)."""

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, server_default="0")


class JobProgress(Base):
    """What rathaus knows of a background job beyond procrastinate's own row (``procrastinate_jobs``, same id): who
    asked for it, its progress ("n of m", a message), its result or last error (rathaus.core.jobs)."""

    __tablename__ = "job_progress"
    job_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    requested_by: Mapped[dict[str, Any] | None] = mapped_column()  # the principal the job runs as
    department: Mapped[str | None] = mapped_column(sa.Text, index=True)
    done: Mapped[int | None] = mapped_column(sa.BigInteger)
    total: Mapped[int | None] = mapped_column(sa.BigInteger)
    message: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[Any] = mapped_column(JSONB, nullable=True)  # JSON: what the job returned
    error: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
