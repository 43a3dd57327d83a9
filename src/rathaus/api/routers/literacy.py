"""AI literacy over HTTP: the modules with the caller's own progress, an attempt at a module's check (answers
checked server-side), and the record per department for oversight (aggregates only, never per person).

``GET /api/v1/literacy/modules`` · ``GET /api/v1/literacy/modules/{id}`` ·
``POST /api/v1/literacy/modules/{id}/attempts`` · ``GET /api/v1/literacy/report?month=YYYY-MM``
(roles admin, auditor, oversight, staff-council).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.http.deps import PrincipalDep, RuntimeDep
from rathaus.literacy import modules as mod
from rathaus.literacy import service

router = APIRouter(prefix="/api/v1/literacy", tags=["AI literacy"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 422)}
Lang = Annotated[Literal["de", "en"], Query()]


class AttemptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: list[StrictInt] = Field(min_length=1, max_length=5,
                                     description="the chosen option's index, one per question, in order")
    lang: Literal["de", "en"] = "de"


@router.get("/modules", responses=ERRORS)
async def list_modules(runtime: RuntimeDep, principal: PrincipalDep, lang: Lang = "de") -> list[dict[str, Any]]:
    """Every module with your own progress (nobody else's)."""
    def build() -> list[dict[str, Any]]:
        with runtime.db.session() as session:
            return service.progress(session, runtime.settings, principal, lang)

    return await run_in_threadpool(build)


@router.get("/modules/{module_id}", responses=ERRORS)
def get_module(module_id: Annotated[str, Path(max_length=100)], runtime: RuntimeDep, principal: PrincipalDep,
               lang: Lang = "de") -> dict[str, Any]:
    """The module's Markdown text and its questions (without the answers)."""
    return mod.find(service.modules(runtime.settings), module_id).as_dict(lang)


@router.post("/modules/{module_id}/attempts", responses=ERRORS)
async def post_attempt(module_id: str, body: AttemptIn, runtime: RuntimeDep,
                       principal: PrincipalDep) -> dict[str, Any]:
    """Your answers → score, passed (≥ 80 %), and per question whether it was right, with the explanation."""
    def run() -> dict[str, Any]:
        with runtime.db.session() as session:
            return service.attempt(session, runtime.settings, principal, module_id, list(body.answers), body.lang)

    return await run_in_threadpool(run)


@router.get("/report", responses=ERRORS)
async def get_report(runtime: RuntimeDep, principal: PrincipalDep,
                     month: Annotated[str | None, Query(max_length=7, description="YYYY-MM; default: this month")]
                     = None) -> dict[str, Any]:
    """Passed modules per department and module, with active users; cells below the minimum group size are
    suppressed. There is no per-person view."""
    principal.require_role(*service.READER_ROLES)

    def build() -> dict[str, Any]:
        with runtime.db.session() as session:
            return service.record(session, runtime.settings, month).as_dict()

    return await run_in_threadpool(build)
