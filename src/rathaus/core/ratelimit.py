"""Fixed-window rate limits kept in PostgreSQL, so every API replica counts the same requests.

Keys are hashed (e.g. client IP + assistant) and old windows are deleted, so no raw IP is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.errors import RathausError

_HIT = sa.text("""
    INSERT INTO rate_limits (key, window_start, count) VALUES (:key, :window, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
    RETURNING count
""")


class RateLimited(RathausError):
    status, code, title = 429, "rate-limited", "Too many requests"


def client_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def hit(session: Session, key: str, limit: int, window_seconds: int = 60) -> None:
    """Count one request; raise RateLimited (429 with Retry-After) above ``limit`` per window."""
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(seconds=now.timestamp() % window_seconds)
    count = session.execute(_HIT, {"key": key, "window": start}).scalar_one()
    if count == 1:  # first request of a window: clear windows older than an hour
        session.execute(sa.text("DELETE FROM rate_limits WHERE window_start < :old"),
                        {"old": now - dt.timedelta(hours=1)})
    if count > limit:
        retry = max(1, int(window_seconds - (now - start).total_seconds()))
        raise RateLimited(f"more than {limit} requests per {window_seconds} s; please wait {retry} s",
                          headers={"Retry-After": str(retry)})
