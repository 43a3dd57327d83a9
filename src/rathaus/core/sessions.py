"""Server-side sessions of the web UI, kept in PostgreSQL so API replicas stay stateless.

The browser holds a random 256-bit cookie value; the table stores only its SHA-256 (the value is random,
so a slow hash adds nothing), the principal as JSON and the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from rathaus.core.auth import Principal
from rathaus.core.schema import WebSession

SESSION_COOKIE = "rathaus_session"
_MAX_COOKIE_CHARS = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def session_id(cookie_value: str) -> str:
    """The stored key of a session: SHA-256 of the cookie value (hex)."""
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


def principal_to_json(principal: Principal) -> dict[str, Any]:
    return {"id": principal.id, "kind": principal.kind, "department": principal.department,
            "roles": sorted(principal.roles), "name": principal.name}


def principal_from_json(data: dict[str, Any]) -> Principal:
    return Principal(id=str(data["id"]), kind=data.get("kind", "user"), department=str(data["department"]),
                     roles=frozenset(str(r) for r in data.get("roles") or []), name=data.get("name"))


def create_session(session: Session, principal: Principal, ttl: dt.timedelta) -> tuple[str, str]:
    """Store a new session; returns (cookie value, CSRF token). Only the cookie's hash is stored."""
    cookie_value = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    session.add(WebSession(id=session_id(cookie_value), principal=principal_to_json(principal), csrf=csrf,
                           created_at=now, expires_at=now + ttl))
    session.flush()
    return cookie_value, csrf


def get_session(session: Session, cookie_value: str) -> tuple[Principal, str] | None:
    """(principal, CSRF token) of a live session; None if unknown or expired (an expired one is deleted)."""
    if not cookie_value or len(cookie_value) > _MAX_COOKIE_CHARS:
        return None
    row = session.get(WebSession, session_id(cookie_value))
    if row is None:
        return None
    if row.expires_at <= _now():
        session.delete(row)
        return None
    return principal_from_json(row.principal), row.csrf


def delete_session(session: Session, cookie_value: str) -> bool:
    """Delete a session (logout); True if there was one."""
    stmt = sa.delete(WebSession).where(WebSession.id == session_id(cookie_value))
    result = cast("CursorResult[Any]", session.execute(stmt))
    return bool(result.rowcount)


def purge_expired(session: Session) -> int:
    """Delete all expired sessions; returns how many."""
    result = cast("CursorResult[Any]", session.execute(sa.delete(WebSession).where(WebSession.expires_at <= _now())))
    return int(result.rowcount or 0)
