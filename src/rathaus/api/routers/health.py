"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from rathaus import __version__
from rathaus.core.errors import RathausError
from rathaus.http.deps import RuntimeDep
from rathaus.migrations import current_revision, head_revision, is_current

router = APIRouter(tags=["Operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive. Answered on the event loop, not in the thread pool, so that chats waiting for a busy
    model or searches in flight (which hold pool threads) cannot stall the liveness probe."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", responses={503: {"description": "Not ready"}})
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready to serve: database reachable and schema up to date."""
    checks: dict[str, Any] = {}
    ok = True
    try:
        runtime.db.check()
        rev, head = current_revision(runtime.db.engine), head_revision()
        checks["database"] = "ok"
        ok = is_current(runtime.db.engine)
        checks["schema"] = "ok" if ok else f"at {rev}, expected {head}"
    except RathausError as exc:
        checks["database"] = exc.detail
        ok = False
    checks["models"] = f"{len(runtime.catalog.enabled())} enabled"
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
