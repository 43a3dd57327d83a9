"""Who may do what with traffic counts.

* ``traffic-editor`` – data staff of the mobility department: import files (and read everything).
* ``traffic-viewer`` – planners and analysts: list stations, read series, export.
* ``admin`` may do both; ``auditor`` may read.
"""

from __future__ import annotations

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal

EDITOR_ROLE = "traffic-editor"
VIEWER_ROLE = "traffic-viewer"


def require_import(principal: Principal) -> None:
    principal.require_role(EDITOR_ROLE, ADMIN_ROLE)


def require_read(principal: Principal) -> None:
    principal.require_role(VIEWER_ROLE, EDITOR_ROLE, ADMIN_ROLE, AUDITOR_ROLE)
