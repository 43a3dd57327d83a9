"""Who is calling: OIDC bearer tokens (verified against the issuer's JWKS), API keys, or local mode.

* OIDC: signature, expiry, audience and issuer are verified with PyJWT; department and roles come
  from configurable claim paths (Keycloak: ``realm_access.roles``).
* API keys for service accounts of other city applications: ``rh_<prefix>_<secret>``; only a SHA-256
  of the whole key is stored (keys are 256-bit random, so a slow hash adds nothing).
* Local mode: one user, no login, only allowed with the embedded database on this machine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.errors import Conflict, Forbidden, IdentityProviderUnavailable, NotFound, Unauthenticated
from rathaus.core.schema import ApiKey
from rathaus.core.settings import Settings

ADMIN_ROLE = "admin"
AUDITOR_ROLE = "auditor"
KEY_PREFIX = "rh_"


@dataclass(frozen=True)
class Principal:
    id: str
    kind: Literal["user", "service", "local", "anonymous"]
    department: str
    roles: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles

    def can_read_department(self, department: str) -> bool:
        return department == self.department or bool({ADMIN_ROLE, AUDITOR_ROLE} & self.roles)

    def require_role(self, *roles: str) -> None:
        if not set(roles) & self.roles:
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")


def local_principal(settings: Settings) -> Principal:
    return Principal(
        id="local-user", kind="local", department=settings.local_department,
        roles=frozenset({ADMIN_ROLE, AUDITOR_ROLE}), name="Lokaler Modus / local mode",
    )


def claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class TokenVerifier:
    """Verifies OIDC access tokens; the JWKS is fetched from the issuer and cached."""

    def __init__(self, settings: Settings):
        self.settings = settings
        url = settings.jwks_url
        self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=600, timeout=5) if url else None

    def verify(self, token: str) -> Principal:
        s = self.settings
        if self._jwks is None or not s.oidc_issuer or not s.oidc_audience:
            raise Unauthenticated("OIDC is not configured (issuer, audience, JWKS)")
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise IdentityProviderUnavailable(f"could not fetch the issuer's signing keys: {exc}") from exc
        except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        try:
            claims = jwt.decode(
                token, key.key, algorithms=s.oidc_algorithms, audience=s.oidc_audience,
                issuer=s.oidc_issuer, leeway=s.oidc_leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("token is not meant for this service (audience)") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("token comes from an unknown issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated("token signature invalid") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks a required claim: {exc.claim}") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        department = claim(claims, s.oidc_department_claim)
        if isinstance(department, list):
            department = department[0] if department else None
        if not isinstance(department, str) or not department.strip():
            raise Forbidden(f"token has no department (claim '{s.oidc_department_claim}')")
        roles = claim(claims, s.oidc_roles_claim) or []
        if not isinstance(roles, list):
            roles = [roles]
        return Principal(
            id=str(claims["sub"]), kind="user", department=department.strip(),
            roles=frozenset(str(r) for r in roles), name=claims.get("preferred_username"),
        )


# --- API keys --------------------------------------------------------------------------------------

def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(session: Session, name: str, department: str, roles: list[str]) -> str:
    """Create a service account key; the returned secret is shown once and never stored."""
    if session.scalar(sa.select(ApiKey.id).where(ApiKey.name == name)):
        raise Conflict(f"an API key named {name!r} exists already")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(name=name, department=department, roles=roles, prefix=prefix, secret_hash=_hash_key(key)))
    session.flush()
    return key


def revoke_api_key(session: Session, name: str) -> None:
    key = session.scalars(sa.select(ApiKey).where(ApiKey.name == name)).one_or_none()
    if key is None:
        raise NotFound(f"no API key named {name!r}")
    key.revoked_at = dt.datetime.now(dt.UTC)


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.name)))


def verify_api_key(session: Session, key: str) -> Principal:
    parts = key.split("_")
    if len(parts) < 3 or not key.startswith(KEY_PREFIX):
        raise Unauthenticated("malformed API key")
    prefix = parts[1]
    digest = _hash_key(key)
    for row in session.scalars(sa.select(ApiKey).where(ApiKey.prefix == prefix)):
        if hmac.compare_digest(row.secret_hash, digest):
            if row.revoked_at is not None:
                raise Unauthenticated("API key revoked")
            row.last_used_at = dt.datetime.now(dt.UTC)
            return Principal(id=f"service:{row.name}", kind="service", department=row.department,
                             roles=frozenset(row.roles), name=row.name)
    raise Unauthenticated("unknown API key")
