"""Request body limits, one per route class, counted on the stream as the bytes arrive.

Two classes: *uploads* (routes that take files as multipart/form-data, found by looking at the routes'
parameters, so a new upload route is covered without a list to keep) may carry ``upload_max_mb`` plus
``MULTIPART_OVERHEAD`` for the part headers and form fields; every other request body (JSON, forms) at most
``max_request_bytes``. A declared Content-Length over the limit is refused before anything is read; a chunked
body (no Content-Length) is counted message by message and refused as soon as it passes the limit, so the
rest is never read into memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import params
from fastapi.dependencies.models import Dependant
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope

from rathaus.core.settings import Settings

MULTIPART_OVERHEAD = 1_000_000  # boundaries, part headers and small form fields around the files of one request


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a body has passed its limit; the middleware answers 413."""

    def __init__(self, limit: int, kind: str):
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit
        self.kind = kind


def flat_routes(routes: Sequence[BaseRoute]) -> list[Any]:
    """Every route of the app, those of included routers too.

    Newer FastAPI keeps each included router as one branch in ``app.routes``; ``iter_route_contexts`` walks
    them and yields route contexts with the full path, ``path_regex``, ``methods`` and ``dependant``. Older
    versions copy the routes into ``app.routes`` themselves.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI < 0.16x: the list is already flat
        return list(routes)
    return list(iter_route_contexts(routes))


def _has_file_param(dependant: Dependant) -> bool:
    return (any(isinstance(p.field_info, params.File) for p in dependant.body_params)
            or any(_has_file_param(d) for d in dependant.dependencies))


def takes_files(route: Any) -> bool:
    """True for a FastAPI route with a File(...) parameter, directly or in one of its dependencies."""
    dependant = getattr(route, "dependant", None)
    return isinstance(dependant, Dependant) and _has_file_param(dependant)


def upload_routes(routes: Sequence[BaseRoute]) -> list[Any]:
    return [r for r in flat_routes(routes) if takes_files(r)]


def upload_limit(settings: Settings) -> int:
    return settings.upload_max_mb * 1_000_000 + MULTIPART_OVERHEAD


def route_path(scope: Scope) -> str:
    """The request path as the routes see it (without the ASGI root_path, which newer Starlette includes)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def limit_for(scope: Scope, settings: Settings, uploads: Sequence[Any]) -> tuple[int, str]:
    """The byte limit for this request and the name of its class ("upload" or "request")."""
    path = route_path(scope)
    for route in uploads:
        if scope["method"] in (route.methods or ()) and route.path_regex.match(path):
            return upload_limit(settings), "upload"
    return settings.max_request_bytes, "request"


def describe(limit: int, kind: str, settings: Settings) -> str:
    """The 413 detail: the limit in bytes and the setting that sets it."""
    if kind == "upload":
        return (f"an upload request may carry at most {limit} bytes: RATHAUS_UPLOAD_MAX_MB "
                f"({settings.upload_max_mb} MB) of files plus {MULTIPART_OVERHEAD} bytes of multipart framing; "
                "send large files one per request")
    return f"the request body may have at most {limit} bytes (RATHAUS_MAX_REQUEST_BYTES)"


class CountingReceive:
    """Wraps ``receive``: counts body bytes as they arrive and raises BodyTooLarge past the limit.

    After the limit has been passed it keeps raising, so an application that catches the error and reads on
    gets no further data.
    """

    def __init__(self, receive: Receive, limit: int, kind: str):
        self._receive = receive
        self.limit = limit
        self.kind = kind
        self.received = 0
        self.exceeded = False

    async def __call__(self) -> Message:
        if self.exceeded:
            raise BodyTooLarge(self.limit, self.kind)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise BodyTooLarge(self.limit, self.kind)
        return message
