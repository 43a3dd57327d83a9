"""Who may do what with the library's data.

* ``library-editor`` – library staff: import catalogue, loans and searches; record a reader's opt-out or opt-in
  (on the reader's behalf, at the counter); read everything.
* ``library-viewer`` – catalogue staff and analysts: read the catalogue and the import reports.
* ``library-service`` – the web catalogue's backend: asks for a reader's recommendations (the raw reader id goes
  in the request body) and for "similar media"; reads nothing else.
* ``admin`` may do everything; ``auditor`` may read the catalogue and the import reports.

Pseudonymous loans and searches of a single reader are personal data: only editors and admins read them
(``require_reader_data``); the recommendation models read them as a service, not through a role.
"""

from __future__ import annotations

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal

EDITOR_ROLE = "library-editor"
VIEWER_ROLE = "library-viewer"
SERVICE_ROLE = "library-service"


def require_import(principal: Principal) -> None:
    principal.require_role(EDITOR_ROLE, ADMIN_ROLE)


def require_opt_out(principal: Principal) -> None:
    principal.require_role(EDITOR_ROLE, ADMIN_ROLE)


def require_read(principal: Principal) -> None:
    principal.require_role(VIEWER_ROLE, EDITOR_ROLE, ADMIN_ROLE, AUDITOR_ROLE)


def require_reader_data(principal: Principal) -> None:
    principal.require_role(EDITOR_ROLE, ADMIN_ROLE)


def require_recommend(principal: Principal) -> None:
    """Personal recommendations read one reader's loans: the catalogue backend, editors, admins."""
    principal.require_role(SERVICE_ROLE, EDITOR_ROLE, ADMIN_ROLE)


def require_similar(principal: Principal) -> None:
    """"Similar media" (no personal data): every reading role and the catalogue backend."""
    principal.require_role(SERVICE_ROLE, VIEWER_ROLE, EDITOR_ROLE, ADMIN_ROLE, AUDITOR_ROLE)


def require_train(principal: Principal) -> None:
    principal.require_role(EDITOR_ROLE, ADMIN_ROLE)
