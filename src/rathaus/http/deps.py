"""Request dependencies of the API and the web pages: the runtime, the calling principal, the call context."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from rathaus.core.auth import KEY_PREFIX, Principal, local_principal, verify_api_key
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, Forbidden, Unauthenticated
from rathaus.core.sessions import SESSION_COOKIE, get_session
from rathaus.models.gateway import CallContext
from rathaus.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Async on purpose: local mode needs no thread hop; key and token checks run in the thread pool."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if header and (scheme.lower() != "bearer" or not token):
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    if token.startswith(KEY_PREFIX):
        return await run_in_threadpool(_api_key_principal, runtime, token)
    if runtime.settings.auth_mode == "local":
        return local_principal(runtime.settings)
    if not token:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return await _session_principal(request, runtime, cookie)
        raise Unauthenticated("a bearer token (OIDC access token or API key) is required")
    assert runtime.verifier is not None
    return await run_in_threadpool(runtime.verifier.verify, token)


def _api_key_principal(runtime: Runtime, token: str) -> Principal:
    with runtime.db.session() as session:
        return verify_api_key(session, token)


CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def load_session(runtime: Runtime, cookie: str) -> tuple[Principal, str] | None:
    """(principal, CSRF token) of a live web session, else None."""
    with runtime.db.session() as session:
        return get_session(session, cookie)


async def _session_principal(request: Request, runtime: Runtime, cookie: str) -> Principal:
    """The principal of the web UI session; unsafe methods must echo the session's CSRF token."""
    found = await run_in_threadpool(load_session, runtime, cookie)
    if found is None:
        raise Unauthenticated("the web session has expired or is unknown; please sign in again")
    principal, csrf = found
    request.state.csrf_token = csrf
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode("utf-8"), csrf.encode("utf-8")):
            raise Forbidden("CSRF token missing or wrong")
    return principal


def csrf_token(request: Request) -> str | None:
    """The CSRF token of a cookie-authenticated request (after get_principal ran); for templates."""
    return getattr(request.state, "csrf_token", None)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def parse_data_class(value: str | None, default: DataClass) -> DataClass:
    if value is None or not value.strip():
        return default
    try:
        return DataClass.parse(value)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def call_context(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    x_rathaus_data_class: Annotated[str | None, Header(max_length=40)] = None,
    x_rathaus_use_case: Annotated[str | None, Header(max_length=100)] = None,
    x_rathaus_reroute: Annotated[bool | None, Header()] = None,
    x_request_id: Annotated[str | None, Header(max_length=100)] = None,
) -> CallContext:
    ctx = CallContext(
        principal=principal,
        data_class=parse_data_class(x_rathaus_data_class, runtime.settings.default_data_class),
        use_case=(x_rathaus_use_case or "api").strip()[:100] or "api",
        reroute=x_rathaus_reroute,
    )
    if x_request_id and x_request_id.isprintable():
        ctx.request_id = x_request_id.strip()[:100] or ctx.request_id
    return ctx


ContextDep = Annotated[CallContext, Depends(call_context)]
