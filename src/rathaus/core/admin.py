"""Administration as service functions: the CLI (``rathaus budget|apikey|audit``) and the API call the same
function, so a change is validated the same way, refused with the same message and audited the same way.

Every function takes the acting principal (the CLI acts as ``commands.common.cli_principal``), checks its role,
validates its input (``BadRequest`` with one readable line), makes the change and appends exactly one audit
record (``use_case="administration"``, ``actor``/``department`` of the principal, the change in ``details``)
inside the caller's transaction, with the key of ``runtime.gateway.audit_key``. A refused change writes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from rathaus.core import audit, auth, budgets
from rathaus.core.auth import ADMIN_ROLE, Principal
from rathaus.core.errors import BadRequest, NotFound

USE_CASE = "administration"
MAX_EUR_PER_MONTH = Decimal(10_000_000)
EUR_DECIMAL_PLACES = 4
MAX_TOKENS_PER_MONTH = 10**13
MAX_NAME_CHARS = 100
MIN_AUDIT_RETENTION_DAYS = 183  # EU AI Act Art. 19/26: logs are kept at least six months


def _audit(session: Session, principal: Principal, action: str, details: dict[str, Any],
           audit_key: bytes | None) -> int:
    return audit.append(session, audit.AuditEntry(actor=principal.id, department=principal.department,
                                                  use_case=USE_CASE, action=action, details=details), key=audit_key)


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS:
        raise BadRequest(f"{what} names have 1 to {MAX_NAME_CHARS} characters")
    return value


# --- budgets -----------------------------------------------------------------------------------------------------

def check_eur(eur: Decimal | None) -> Decimal | None:
    """A monthly € limit: None (no limit) or 0 … 10,000,000 with at most four decimal places."""
    if eur is None:
        return None
    if not eur.is_finite() or not 0 <= eur <= MAX_EUR_PER_MONTH:
        raise BadRequest(f"€ per month must be between 0 and {MAX_EUR_PER_MONTH:,}, not {eur}")
    exponent = eur.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > EUR_DECIMAL_PLACES:
        raise BadRequest(f"€ per month has at most {EUR_DECIMAL_PLACES} decimal places, not {eur}")
    return eur


def check_tokens(tokens: int | None) -> int | None:
    """A monthly token limit: None (no limit) or 0 … 10^13."""
    if tokens is None:
        return None
    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 0 <= tokens <= MAX_TOKENS_PER_MONTH:
        raise BadRequest(f"tokens per month must be between 0 and {MAX_TOKENS_PER_MONTH:,}, not {tokens}")
    return tokens


def set_budget(session: Session, principal: Principal, department: str, eur: Decimal | None, tokens: int | None,
               *, audit_key: bytes | None) -> budgets.BudgetStatus:
    """Set a department's monthly limits (admin); None means no limit. Audited as ``budget.set``."""
    principal.require_role(ADMIN_ROLE)
    department = _name(department, "department")
    eur, tokens = check_eur(eur), check_tokens(tokens)
    budgets.set_limit(session, department, eur, tokens)
    _audit(session, principal, "budget.set", {"department": department, "eur_per_month": str(eur),
                                              "tokens_per_month": tokens}, audit_key)
    return budgets.status(session, department)


def remove_budget(session: Session, principal: Principal, department: str, *, audit_key: bytes | None) -> None:
    """Remove a department's limits (admin); NotFound when it has none. Audited as ``budget.remove``."""
    principal.require_role(ADMIN_ROLE)
    if not budgets.remove_limit(session, department):
        raise NotFound(f"department {department!r} has no budget")
    _audit(session, principal, "budget.remove", {"department": department}, audit_key)


# --- API keys ----------------------------------------------------------------------------------------------------

def create_api_key(session: Session, principal: Principal, name: str, department: str, roles: list[str],
                   *, audit_key: bytes | None) -> str:
    """Create a service account's key (admin); the secret is returned once and never stored or audited.
    Audited as ``apikey.create`` with name, department, roles and the key's public prefix."""
    principal.require_role(ADMIN_ROLE)
    name, department = _name(name, "API key"), _name(department, "department")
    cleaned = list(dict.fromkeys(r.strip() for r in roles))
    if any(not r or len(r) > MAX_NAME_CHARS for r in cleaned):
        raise BadRequest(f"role names have 1 to {MAX_NAME_CHARS} characters")
    key = auth.create_api_key(session, name, department, cleaned)
    _audit(session, principal, "apikey.create", {"name": name, "department": department, "roles": cleaned,
                                                 "prefix": key.split("_")[1]}, audit_key)
    return key


def revoke_api_key(session: Session, principal: Principal, name: str, *, audit_key: bytes | None) -> None:
    """Revoke a key at once (admin); NotFound for an unknown name. Audited as ``apikey.revoke``."""
    principal.require_role(ADMIN_ROLE)
    auth.revoke_api_key(session, name)
    _audit(session, principal, "apikey.revoke", {"name": name}, audit_key)


# --- audit log retention -----------------------------------------------------------------------------------------

def purge_audit_log(session: Session, principal: Principal, config: audit.AuditConfig, retention_days: int, *,
                    audit_key: bytes | None, now: dt.datetime | None = None) -> tuple[int, dt.datetime]:
    """Delete audit records older than ``retention_days`` (admin; at least 183) and re-anchor the chain.
    Returns (records deleted, cut-off); audited as ``audit.purge`` (the record lands after the cut)."""
    principal.require_role(ADMIN_ROLE)
    if retention_days < MIN_AUDIT_RETENTION_DAYS:
        raise BadRequest(f"retention below {MIN_AUDIT_RETENTION_DAYS} days is not allowed "
                         "(EU AI Act: at least six months)")
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=retention_days)
    deleted = audit.purge(session, cutoff, config)
    _audit(session, principal, "audit.purge", {"deleted": deleted, "before": cutoff.isoformat()}, audit_key)
    return deleted, cutoff
