"""Who may see and act on which packet.

* A packet belongs to the department that processes its application type (the type's ``department``). It is
  visible to that department's case workers with the role ``checks-review`` and to administrators – nobody
  else, auditors included (they read the audit log, not applications). Another department's packet is answered
  with 404: its existence is not even confirmed.
* Uploading needs ``checks-review`` (for a type of the principal's own department), ``checks-intake`` (a form
  backend's API key: any type) or ``admin``.
* Confirming, deleting, the letter and the export need the same visibility as reading.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from rathaus.checks.schema import CheckPacket
from rathaus.core.auth import ADMIN_ROLE, Principal
from rathaus.core.errors import Forbidden, NotFound

REVIEW_ROLE = "checks-review"
INTAKE_ROLE = "checks-intake"
PAGE_ROLES = (REVIEW_ROLE, ADMIN_ROLE)


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the packets ``principal`` may see (every query that reads packets uses it)."""
    if ADMIN_ROLE in principal.roles:
        return sa.true()
    if REVIEW_ROLE not in principal.roles:
        return sa.false()
    return CheckPacket.department == principal.department


def can_see(principal: Principal, packet: CheckPacket) -> bool:
    if ADMIN_ROLE in principal.roles:
        return True
    return REVIEW_ROLE in principal.roles and packet.department == principal.department


def require_visible(principal: Principal, packet: CheckPacket | None, packet_id: int) -> CheckPacket:
    if packet is None or not can_see(principal, packet):
        raise NotFound(f"Antrag {packet_id} nicht gefunden / packet {packet_id} not found")
    return packet


def require_upload(principal: Principal, department: str) -> None:
    """May ``principal`` upload a packet of a type processed by ``department``?"""
    if {ADMIN_ROLE, INTAKE_ROLE} & principal.roles:
        return
    if REVIEW_ROLE not in principal.roles:
        raise Forbidden(f"Antragsprüfung braucht die Rolle {REVIEW_ROLE} / this needs the role {REVIEW_ROLE}")
    if department != principal.department:
        raise Forbidden(f"diese Antragsart bearbeitet {department} / this type is processed by {department}")


def may_use(principal: Principal) -> bool:
    return bool(set(PAGE_ROLES) & principal.roles)
