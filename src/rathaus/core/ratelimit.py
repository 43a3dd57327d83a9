"""Fixed-window rate limits kept in PostgreSQL, so every API replica counts the same requests.

Keys are hashed (e.g. client IP + assistant) and old windows are deleted, so no raw IP is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress

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


def address_bucket(address: str) -> str:
    """What one client's requests are counted under: an IPv4 address, or the /64 network of an IPv6 address
    (one subscriber usually holds a whole /64 and could otherwise ask from 2^64 addresses)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def hit(session: Session, key: str, limit: int, window_seconds: int = 60, *, scope: str = "client",
        message: str | None = None) -> None:
    """Count one request; raise RateLimited (429 with Retry-After) above ``limit`` per window.

    ``scope`` names what was counted (shown in the problem as ``limit_scope``); ``message`` replaces the
    standard detail."""
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(seconds=now.timestamp() % window_seconds)
    count = session.execute(_HIT, {"key": key, "window": start}).scalar_one()
    if count == 1:  # first request of a window: clear windows older than an hour
        session.execute(sa.text("DELETE FROM rate_limits WHERE window_start < :old"),
                        {"old": now - dt.timedelta(hours=1)})
    if count > limit:
        retry = max(1, int(window_seconds - (now - start).total_seconds()))
        detail = message or f"more than {limit} requests per {window_seconds} s"
        raise RateLimited(f"{detail}; please wait {retry} s", headers={"Retry-After": str(retry)},
                          extra={"limit_scope": scope, "limit": limit, "window_seconds": window_seconds})
