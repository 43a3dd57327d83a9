"""The HTTP middleware of every request: body limits on the stream, security headers, request metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rathaus.api import body_limits, problems, security_headers
from rathaus.core.observability import HTTP_REQUESTS
from rathaus.core.settings import Settings

log = logging.getLogger(__name__)

class GuardAndMeasure:
    """Pure ASGI middleware: limit request bodies, add security headers, time every request.

    Bodies are limited per route class (rathaus.api.body_limits): a declared Content-Length over the limit is
    refused at once; otherwise the bytes are counted as they arrive (chunked or not) and the request is answered
    with 413 as soon as they pass the limit. Whatever the application then tries to answer (FastAPI turns the
    error into a 400 while parsing the body) is replaced by that 413, so there is exactly one response.
    """

    def __init__(self, app: ASGIApp, settings: Callable[[], Settings], routes: Callable[[], Sequence[BaseRoute]]):
        self.app = app
        self.settings = settings
        self.routes = routes
        self._uploads: list[Any] | None = None

    def upload_routes(self) -> list[Any]:
        if self._uploads is None:  # the routes are complete once the first request arrives
            self._uploads = body_limits.upload_routes(self.routes())
        return self._uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings()
        status = 500
        t0 = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = getattr(scope.get("route"), "path", "")
                message["headers"] = security_headers.add_headers(
                    list(message.get("headers", [])), route=route, path=scope["path"],
                    scheme=scope.get("scheme", "http"), settings=settings)
            await send(message)

        async def too_large(limit: int, kind: str) -> None:
            detail = body_limits.describe(limit, kind, settings)
            response = problems.problem_response(413, "request-too-large", "Request too large", detail,
                                                 Request(scope), limit=limit)
            await response(scope, receive, send_with_headers)

        limit, kind = body_limits.limit_for(scope, settings, self.upload_routes())
        length = dict(scope["headers"]).get(b"content-length")
        body = body_limits.CountingReceive(receive, limit, kind)
        started_before_limit = False

        async def send_guarded(message: Message) -> None:
            nonlocal started_before_limit
            if body.exceeded and not started_before_limit:
                return  # the application's answer to the cut-off body; the 413 below replaces it
            if message["type"] == "http.response.start":
                started_before_limit = True
            await send_with_headers(message)

        try:
            if length is not None and (not length.isdigit() or int(length) > limit):
                await too_large(limit, kind)
                return
            try:
                await self.app(scope, body, send_guarded)
            except Exception as exc:
                if not body.exceeded or started_before_limit:
                    raise  # not about the body, or the response is under way: the server drops the connection
                if not isinstance(exc, body_limits.BodyTooLarge):
                    log.debug("%s after the body passed its limit: %r", scope["path"], exc)
            if body.exceeded and not started_before_limit:
                await too_large(limit, kind)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).observe(time.perf_counter() - t0)


