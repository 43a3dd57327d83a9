"""Who may see and act on which message.

* A message routed to a department is visible to the principals of that department (the ``department`` claim
  equals the taxonomy's department key) and to administrators – nobody else, auditors included: they read the
  audit log, not citizens' letters.
* Messages in the triage queue (no department yet: the routing was not confident) are visible to ``inbox-triage``
  (the central post office) and administrators, who route them.
* Acting (reassign, mark as spam, draft, approve, send) needs the same visibility; sending additionally needs
  the role ``inbox-send`` or ``admin`` – approval is a person's decision, recorded with their id.
* Intake from outside (web form, API) needs ``inbox-intake`` (a form backend's API key) or ``admin``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from rathaus.core.auth import ADMIN_ROLE, Principal
from rathaus.core.errors import NotFound
from rathaus.inbox.schema import InboxMessage

TRIAGE_ROLE = "inbox-triage"
SEND_ROLE = "inbox-send"
INTAKE_ROLE = "inbox-intake"


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the messages ``principal`` may see (used by every query that reads messages)."""
    if ADMIN_ROLE in principal.roles:
        return sa.true()
    own = InboxMessage.department == principal.department
    if TRIAGE_ROLE in principal.roles:
        return sa.or_(own, InboxMessage.department.is_(None))
    return own


def can_see(principal: Principal, message: InboxMessage) -> bool:
    if ADMIN_ROLE in principal.roles:
        return True
    if message.department is None:
        return TRIAGE_ROLE in principal.roles
    return message.department == principal.department


def require_visible(principal: Principal, message: InboxMessage | None, message_id: int) -> InboxMessage:
    """The message if ``principal`` may see it; NotFound otherwise (another department's message is not even
    confirmed to exist)."""
    if message is None or not can_see(principal, message):
        raise NotFound(f"Nachricht {message_id} nicht gefunden / message {message_id} not found")
    return message


def require_send(principal: Principal) -> None:
    principal.require_role(SEND_ROLE, ADMIN_ROLE)


def require_intake(principal: Principal) -> None:
    principal.require_role(INTAKE_ROLE, ADMIN_ROLE)
