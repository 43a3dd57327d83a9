"""The AI use-case portfolio over HTTP: submit an idea, the prioritised list, the department's own ideas with
their written assessments, one idea, assess, send the assessment, change the status, the scoring weights.
Access: rathaus.governance.portfolio.access."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.governance.portfolio import service
from rathaus.governance.portfolio.inputs import AssessmentIn, IdeaIn, StatusIn, WeightsIn
from rathaus.http.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/portfolio", tags=["Portfolio"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 409, 422, 502)}


@router.post("/ideas", status_code=201, responses=ERRORS)
async def submit_idea(idea: IdeaIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Submit a use-case idea for the signed-in principal's department."""
    return await run_in_threadpool(service.submit, runtime, principal, idea)


@router.get("/ideas", responses=ERRORS)
async def list_ideas(runtime: RuntimeDep, principal: PrincipalDep,
                     mine: Annotated[bool, Query(description="only the own department's ideas, with details and "
                                                             "the written assessment")] = False) -> dict[str, Any]:
    """The prioritised list (every criterion's points, the weights and the score), or the department's own."""
    if mine:
        return {"items": await run_in_threadpool(service.department_ideas, runtime, principal)}
    return await run_in_threadpool(service.prioritised, runtime, principal)


@router.get("/ideas/{idea_id}", responses=ERRORS)
async def get_idea(idea_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """One idea: details for its department, assessors and auditors; the public summary for other staff."""
    return await run_in_threadpool(service.get_idea, runtime, principal, idea_id)


@router.post("/ideas/{idea_id}/assessments", status_code=201, responses=ERRORS)
async def assess_idea(idea_id: int, assessment: AssessmentIn, runtime: RuntimeDep,
                      principal: PrincipalDep) -> dict[str, Any]:
    """Assess an idea (IT department: role portfolio-assess or admin). Nothing is sent to the submitter yet."""
    return await run_in_threadpool(service.assess, runtime, principal, idea_id, assessment)


@router.post("/ideas/{idea_id}/assessment/send", responses=ERRORS)
async def send_assessment(idea_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Send the newest assessment to the idea's contact e-mail (the assessor's explicit action)."""
    return await run_in_threadpool(service.send_assessment, runtime, principal, idea_id)


@router.post("/ideas/{idea_id}/status", responses=ERRORS)
async def change_status(idea_id: int, change: StatusIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Move the idea to the next status; ``production`` needs the register entry id (register_id)."""
    return await run_in_threadpool(service.change_status, runtime, principal, idea_id, change)


@router.get("/weights", responses=ERRORS)
async def get_weights(runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """The weights in force and every earlier setting."""
    return await run_in_threadpool(service.current_weights, runtime, principal)


@router.put("/weights", responses=ERRORS)
async def set_weights(weights: WeightsIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Set new weights (IT department); the earlier ones stay in the history."""
    return await run_in_threadpool(service.set_weights, runtime, principal, weights)
