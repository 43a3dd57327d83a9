"""Every error as RFC 9457 problem+json; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rathaus.core.db import database_error
from rathaus.core.errors import PROBLEM_BASE, RathausError
from rathaus.core.files import is_storage_error, storage_error

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "Problem details (RFC 9457)",
    "content": {
        MEDIA_TYPE: {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
                "required": ["type", "title", "status", "detail"],
            }
        }
    },
}


def problem_response(status: int, code: str, title: str, detail: str, request: Request | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(RathausError)
    async def _rathaus(request: Request, exc: RathausError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.detail)
        return JSONResponse(exc.problem(request.url.path), status_code=exc.status, media_type=MEDIA_TYPE,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem_response(400, "malformed-json", "Malformed JSON",
                                    "the request body is not valid JSON", request)
        lines = [f"{_location(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in errors]
        return problem_response(422, "validation-error", "Invalid request", "; ".join(lines)[:2000], request,
                                errors=lines[:50])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.url.path}"
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(exc.status_code, code, titles.get(exc.status_code, "HTTP error"), detail, request,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        """Input the database cannot store (e.g. NUL characters, out-of-range numbers) is the client's error."""
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "invalid value"
        return problem_response(400, "invalid-value", "Invalid value", f"the database refused a value: {reason}",
                                request)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> JSONResponse:
        """An operational database error outside ``Database.session`` (disk full, connection lost): 503, not 500."""
        return await _rathaus(request, database_error(exc))

    @app.exception_handler(OSError)
    async def _storage(request: Request, exc: OSError) -> JSONResponse:
        """A full disk or a read-only directory: 507 / 503 with one readable line instead of 500."""
        if is_storage_error(exc):
            return await _rathaus(request, storage_error(exc))
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal-error", "Internal error",
                                "an unexpected error occurred; it has been logged", request)
