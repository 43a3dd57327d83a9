"""Who is asking: the client's address, also behind reverse proxies that the operator names.

Forwarded headers are believed only from a trusted proxy (``RATHAUS_TRUSTED_PROXIES``): uvicorn's
``ProxyHeadersMiddleware`` then walks ``X-Forwarded-For`` from the right, skips trusted hops and takes the
first address that is not a trusted proxy (entries a client wrote itself stand further left and are never
reached), and takes the scheme from ``X-Forwarded-Proto``. From any other peer the headers are ignored and
the socket's address is the client. The middleware sits inside the app, so the rule is the same under
``rathaus serve``, any other ASGI server and the test client; ``rathaus serve``/``up`` switch uvicorn's own
copy of it off (it would trust 127.0.0.1 by default).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def install(app: FastAPI, trusted_proxies: list[str]) -> None:
    """Believe forwarded headers from ``trusted_proxies`` (validated addresses/networks); none: from nobody.

    Call it after the other middleware, so it is the outermost and every layer sees the real client."""
    if trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))


def client_address(request: Request) -> str:
    """The address of the client as far as it can be known (see the module text); "unknown" without one."""
    return request.client.host if request.client and request.client.host else "unknown"
