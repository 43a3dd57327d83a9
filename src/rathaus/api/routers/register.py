"""The AI system register over HTTP (``/api/v1/register``): cards, entries with their history, exports.

Reading every card and the history needs ``oversight``, ``auditor`` or ``admin``; entering needs ``oversight`` or
``admin``; the public cards are open at ``/api/v1/register/public`` (and as a page at ``/register``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core.errors import BadRequest
from rathaus.governance.register import (
    access,
    annex_viii,
    build_cards,
    dutch_standard,
    figures,
    get_card,
    known_ids,
    organisation,
    parse_entry,
    store,
)
from rathaus.http.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/register", tags=["Register"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 422, 503)}


@router.get("/public", responses=ERRORS)
def public_cards(runtime: RuntimeDep) -> list[dict[str, Any]]:
    """The complete public cards (what the public page shows), without the entry history."""
    with runtime.db.session() as session:
        cards = build_cards(runtime, session, only_public=True)
    return [c.as_dict() for c in cards if c.complete]


@router.get("", responses=ERRORS)
def list_cards(runtime: RuntimeDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Every system's card with its figures, completeness and publication state."""
    access.require_read(principal)
    with runtime.db.session() as session:
        return [c.as_dict() for c in build_cards(runtime, session)]


@router.get("/export/{fmt}", responses=ERRORS)
def export(fmt: Literal["json", "annex8"], runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """``json``: the Dutch algorithm register standard 1.0.0 (public complete cards); ``annex8``: EU AI Act Annex
    VIII of the high-risk systems. Incomplete systems are listed under ``incomplete``, not exported."""
    access.require_read(principal)
    name, address = organisation(runtime)
    with runtime.db.session() as session:
        cards = build_cards(runtime, session, figures_too=False, only_public=fmt == "json")
    return dutch_standard.export(cards, name) if fmt == "json" else annex_viii.export(cards, name, address)


@router.get("/{system_id}", responses=ERRORS)
def get_one(system_id: str, runtime: RuntimeDep, principal: PrincipalDep,
            audit_log: Annotated[bool, Query(description="Verify the audit log's hash chain too")] = False,
            ) -> dict[str, Any]:
    """One card: facts, entry, usage, evaluations, missing fields (and the audit log's state if asked)."""
    access.require_read(principal)
    with runtime.db.session() as session:
        card = get_card(runtime, session, system_id).as_dict()
        if audit_log:
            card["audit_log"] = figures.audit_status(session, runtime.settings)
    return card


@router.put("/{system_id}", responses=ERRORS)
async def put_entry(
    system_id: str, runtime: RuntimeDep, principal: PrincipalDep,
    body: Annotated[dict[str, Any], Body(description="The entry's fields (rathaus.governance.register.entry)")],
    version: Annotated[int | None, Query(ge=1, description="The version the change is based on")] = None,
    source: Annotated[Literal["api", "form"], Query(description="Where the change was made (history)")] = "api",
) -> dict[str, Any]:
    """Enter or change the people's part of a card; every change is kept in the history."""
    access.require_edit(principal)
    if body.setdefault("id", system_id) != system_id:
        raise BadRequest(f"the body's id {body['id']!r} is not {system_id!r}")
    entry = parse_entry(body, system_id)

    def run() -> dict[str, Any]:
        with runtime.db.session() as session:
            return store.set_entry(session, entry, known_ids=known_ids(runtime, session), actor=principal.id,
                                   source=source, expected_version=version)

    return await run_in_threadpool(run)


@router.get("/{system_id}/history", responses=ERRORS)
def entry_history(system_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Who changed the entry when, from where, and each changed field as [old, new]; newest first."""
    access.require_read(principal)
    with runtime.db.session() as session:
        return store.history(session, system_id)
