"""Security headers for every response, chosen by the route and the response's media type.

HTML pages (Swagger UI at /docs included, see rathaus.web.api_docs) get a Content-Security-Policy without
inline scripts or styles, may not be framed (CSP ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``),
are isolated from their opener (``Cross-Origin-Opener-Policy``) and have powerful browser features switched
off (``Permissions-Policy``). The widget's page (``/embed/{name}``) is the exception: it is meant to be framed
by the city's web pages, by the origins in ``RATHAUS_EMBED_ALLOWED_ORIGINS`` (default ``*``). Every response
gets ``nosniff`` and a ``Referrer-Policy``; ``Strict-Transport-Security`` when the request came over TLS
(``scope["scheme"]``, which the proxy handling makes right behind trusted proxies) or ``RATHAUS_HSTS`` says so.
API answers carry personal data, so they are ``Cache-Control: no-store`` unless the route chose otherwise.
A header the application has set itself is left as it is.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from rathaus.core.settings import Settings

FRAMEABLE_ROUTES = frozenset({"/embed/{name}"})  # the widget's iframe page
NO_STORE_PREFIXES = ("/api/", "/v1/", "/public/")
HSTS = "max-age=31536000"
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
                      "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), serial=(), hid=()")

_BASE = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
         "connect-src 'self'; object-src 'none'; base-uri 'none'")
_SPLIT = re.compile(r"[\s,]+")


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def frame_ancestors(settings: Settings) -> str:
    """The CSP source list of pages that may frame the widget (``*``: any web page)."""
    return " ".join(s for s in _SPLIT.split(settings.embed_allowed_origins.strip()) if s) or "'none'"


def form_action(settings: Settings) -> str:
    """Forms post to rathaus only; signing out redirects the form to the identity provider in oidc mode."""
    idp = _origin(settings.oidc_issuer) if settings.auth_mode == "oidc" else None
    return "'self'" + (f" {idp}" if idp else "")


def content_security_policy(route: str, settings: Settings) -> str:
    if route in FRAMEABLE_ROUTES:
        return f"{_BASE}; form-action 'self'; frame-ancestors {frame_ancestors(settings)}"
    return f"{_BASE}; form-action {form_action(settings)}; frame-ancestors 'none'"


def _has(headers: list[tuple[bytes, bytes]], name: bytes) -> bool:
    return any(k.lower() == name for k, _ in headers)


def add_headers(headers: list[tuple[bytes, bytes]], *, route: str, path: str, scheme: str,
                settings: Settings) -> list[tuple[bytes, bytes]]:
    """``headers`` of a response plus the security headers it lacks."""
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"").lower()
    extra: dict[str, str] = {"X-Content-Type-Options": "nosniff",
                             "Referrer-Policy": "strict-origin-when-cross-origin"}
    if scheme in ("https", "wss") or settings.hsts:
        extra["Strict-Transport-Security"] = HSTS
    if content_type.startswith(b"text/html"):
        extra["Content-Security-Policy"] = content_security_policy(route, settings)
        extra["Permissions-Policy"] = PERMISSIONS_POLICY
        if route not in FRAMEABLE_ROUTES:
            extra["X-Frame-Options"] = "DENY"
            extra["Cross-Origin-Opener-Policy"] = "same-origin"
    elif path.startswith(NO_STORE_PREFIXES):
        extra["Cache-Control"] = "no-store"
    out = list(headers)
    for name, value in extra.items():
        key = name.lower().encode("latin-1")
        if not _has(headers, key):
            out.append((key, value.encode("latin-1")))
    return out
