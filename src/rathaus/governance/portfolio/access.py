"""Who may do what in the portfolio.

* Every signed-in member of staff (not anonymous) submits ideas for their own department and reads the
  prioritised list (titles, departments, statuses, criterion points, weights, scores): the ranking is public
  inside the administration so that anyone can recompute it.
* An idea's details (problem, data, affected people, contact) and its written assessment: the submitting
  department, the assessors, and the administrators/auditors.
* Assessing, sending an assessment, changing a status and setting the weights: the IT department's assessors
  (role ``portfolio-assess``) and administrators.
"""

from __future__ import annotations

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal
from rathaus.core.errors import Forbidden, Unauthenticated

ASSESS_ROLE = "portfolio-assess"


def require_staff(principal: Principal) -> None:
    if principal.kind == "anonymous":
        raise Unauthenticated("sign in to use the AI use-case portfolio")


def may_assess(principal: Principal) -> bool:
    return bool({ASSESS_ROLE, ADMIN_ROLE} & principal.roles)


def require_assess(principal: Principal) -> None:
    if not may_assess(principal):
        raise Forbidden(f"only the IT department's assessors (role {ASSESS_ROLE}) or administrators may do this")


def may_read_details(principal: Principal, department: str) -> bool:
    return (department == principal.department or may_assess(principal)
            or bool({ADMIN_ROLE, AUDITOR_ROLE} & principal.roles))
