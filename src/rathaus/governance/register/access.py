"""Who may read and change the register: everybody reads the public page; the roles ``oversight``, ``auditor``
and ``admin`` read every card and its history; ``oversight`` and ``admin`` change entries (the auditor checks,
and does not write what they check)."""

from __future__ import annotations

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal

OVERSIGHT_ROLE = "oversight"
READ_ROLES = (OVERSIGHT_ROLE, AUDITOR_ROLE, ADMIN_ROLE)
EDIT_ROLES = (OVERSIGHT_ROLE, ADMIN_ROLE)


def can_read(principal: Principal) -> bool:
    return bool(set(READ_ROLES) & principal.roles)


def can_edit(principal: Principal) -> bool:
    return bool(set(EDIT_ROLES) & principal.roles)


def require_read(principal: Principal) -> None:
    principal.require_role(*READ_ROLES)


def require_edit(principal: Principal) -> None:
    principal.require_role(*EDIT_ROLES)
