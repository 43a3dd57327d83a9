"""Web sign-in with the city's identity provider: OpenID Connect authorization code flow with PKCE (S256).

* ``GET /login?next=/chat`` sends the browser to the issuer's authorization endpoint. State, nonce, PKCE
  verifier and the target path travel in a short-lived, HMAC-signed, HttpOnly cookie (one per sign-in, so
  sign-ins started in several tabs do not disturb each other); nothing is stored on the server.
* ``GET /auth/callback`` checks the state, exchanges the code (with the verifier) at the token endpoint,
  verifies the ID token against the issuer's JWKS (signature, iss, aud = client id, exp, nonce), creates a
  server-side session (PostgreSQL) and sets the ``rathaus_session`` cookie.
* ``POST /logout`` (CSRF-checked) deletes the session and signs out at the issuer if it advertises an
  ``end_session_endpoint``.

The HMAC key is ``RATHAUS_SESSION_SECRET``; without it each process uses a random key, so with several
replicas or workers a sign-in may fail when the callback reaches another process: set it in production.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import logging
import secrets
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from rathaus.core.auth import Principal, claim
from rathaus.core.errors import ConfigError, Forbidden, IdentityProviderUnavailable, RathausError
from rathaus.core.sessions import SESSION_COOKIE, create_session, delete_session, purge_expired
from rathaus.core.settings import Settings
from rathaus.http.deps import CSRF_HEADER, RuntimeDep, load_session
from rathaus.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

CALLBACK_PATH = "/auth/callback"
LOGIN_COOKIE_PREFIX = "rathaus_login_"
LOGIN_TTL_SECONDS = 600
DISCOVERY_TTL_SECONDS = 3600
HTTP_TIMEOUT_SECONDS = 5.0
SCOPE = "openid profile"

_discovery_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks_clients: dict[str, jwt.PyJWKClient] = {}
_lock = threading.Lock()
_process_secret = secrets.token_bytes(32)
_warned_secret = False
_tls: ssl.SSLContext | None = None


class LoginRequired(RathausError):
    """A page needs a signed-in user: 303 to the sign-in, which comes back to the page afterwards."""

    status, code, title = 303, "login-required", "Sign-in required"

    def __init__(self, next_path: str):
        location = "/login?" + urlencode({"next": safe_next(next_path)})
        super().__init__(f"please sign in at {location}", headers={"Location": location, "Cache-Control": "no-store"})


class LoginFailed(Exception):
    """A sign-in that cannot finish; shown as a short bilingual page, never as a stack trace."""

    def __init__(self, status: int, de: str, en: str, detail: str):
        super().__init__(detail)
        self.status, self.de, self.en, self.detail = status, de, en, detail


# --- helpers ------------------------------------------------------------------------------------------

def safe_next(value: str | None) -> str:
    """A same-site relative path to return to; anything else (``//host``, ``https://``, ``/\\host``) is "/"."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return "/"
    if value.startswith(("/login", CALLBACK_PATH, "/logout")):
        return "/"
    return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pkce_challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _secret(settings: Settings) -> bytes:
    global _warned_secret
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value().encode("utf-8")
    if not _warned_secret:
        _warned_secret = True
        log.warning("RATHAUS_SESSION_SECRET is not set; using a random key of this process "
                    "(sign-ins fail across several replicas or workers)")
    return _process_secret


def _mac(settings: Settings, body: str) -> str:
    return _b64(hmac.new(_secret(settings), b"rathaus-login." + body.encode("ascii"), hashlib.sha256).digest())


def sign_login_state(settings: Settings, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return f"{body}.{_mac(settings, body)}"


def read_login_state(settings: Settings, value: str | None) -> dict[str, Any] | None:
    """The payload of a login cookie if its signature is right and it has not expired."""
    if not value or len(value) > 4000:
        return None
    body, _, mac = value.rpartition(".")
    if not body or not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(settings, body).encode("ascii")):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int) or payload["exp"] < time.time():
        return None
    return payload


def _login_cookie_name(state: str) -> str:
    return LOGIN_COOKIE_PREFIX + state[:16]


def _client_id(settings: Settings) -> str:
    if not settings.oidc_client_id:
        raise ConfigError("RATHAUS_OIDC_CLIENT_ID is not set; the web sign-in needs the client id of the web UI")
    return settings.oidc_client_id


def _tls_context() -> ssl.SSLContext:
    """The system's trust store (like PyJWKClient), so an internal CA installed on the host is trusted."""
    global _tls
    if _tls is None:
        _tls = ssl.create_default_context()
    return _tls


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, verify=_tls_context(),
                             headers={"Accept": "application/json"})


async def discovery(settings: Settings) -> dict[str, Any]:
    """The issuer's OpenID configuration, cached for an hour; failures are a 503 problem."""
    issuer = settings.oidc_issuer
    if not issuer:
        raise ConfigError("RATHAUS_OIDC_ISSUER is not set")
    cached = _discovery_cache.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with _http() as client:
            resp = await client.get(url)
        resp.raise_for_status()
        doc = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        raise IdentityProviderUnavailable(f"identity provider unreachable: {url}: {reason}") from exc
    endpoints = ("authorization_endpoint", "token_endpoint")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in endpoints):
        raise IdentityProviderUnavailable(f"identity provider unreachable: {url} is no OpenID configuration")
    _discovery_cache[issuer] = (time.monotonic(), doc)
    return doc


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _jwks_client(url: str) -> jwt.PyJWKClient:
    with _lock:
        client = _jwks_clients.get(url)
        if client is None:
            client = _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=600,
                                                          timeout=int(HTTP_TIMEOUT_SECONDS))
        return client


def _cookie_args(settings: Settings) -> dict[str, Any]:
    return {"secure": settings.cookie_secure, "httponly": True, "samesite": "lax"}


# --- ID token ---------------------------------------------------------------------------------------------

_BAD_TOKEN = ("Die Anmeldebestätigung des Identitätsdienstes ist ungültig.",
              "The identity provider's sign-in confirmation is invalid.")


def verify_id_token(settings: Settings, meta: dict[str, Any], id_token: str, nonce: str) -> dict[str, Any]:
    """Signature (issuer's JWKS), iss, aud = client id, exp, iat and nonce of an ID token; returns its claims."""
    client_id = _client_id(settings)
    jwks = _jwks_client(settings.oidc_jwks_url or meta.get("jwks_uri") or settings.jwks_url or "")
    try:
        key = jwks.get_signing_key_from_jwt(id_token)
    except jwt.PyJWKClientConnectionError as exc:
        raise IdentityProviderUnavailable(f"could not fetch the issuer's signing keys: {exc}") from exc
    except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
        raise LoginFailed(401, *_BAD_TOKEN, f"invalid ID token: {exc}") from exc
    try:
        claims = jwt.decode(
            id_token, key.key, algorithms=settings.oidc_algorithms, audience=client_id,
            issuer=settings.oidc_issuer, leeway=settings.oidc_leeway_seconds,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "nonce"]},
        )
    except jwt.InvalidTokenError as exc:
        raise LoginFailed(401, *_BAD_TOKEN, f"invalid ID token: {exc}") from exc
    if not hmac.compare_digest(str(claims["nonce"]).encode("utf-8"), nonce.encode("utf-8")):
        raise LoginFailed(401, *_BAD_TOKEN, "invalid ID token: the nonce does not belong to this sign-in")
    if isinstance(claims["aud"], list) and len(claims["aud"]) > 1 and claims.get("azp") != client_id:
        raise LoginFailed(401, *_BAD_TOKEN, "invalid ID token: authorized party (azp) is not this client")
    return claims


def _access_claims(settings: Settings, meta: dict[str, Any], access_token: Any, sub: str) -> dict[str, Any]:
    """Claims of a JWT access token from the token endpoint (signature and issuer checked), else {}.

    The audience is not checked: the token came straight from the token endpoint for this sign-in.
    """
    if not isinstance(access_token, str) or access_token.count(".") != 2:
        return {}
    jwks = _jwks_client(settings.oidc_jwks_url or meta.get("jwks_uri") or settings.jwks_url or "")
    try:
        key = jwks.get_signing_key_from_jwt(access_token)
        claims = jwt.decode(access_token, key.key, algorithms=settings.oidc_algorithms, issuer=settings.oidc_issuer,
                            leeway=settings.oidc_leeway_seconds, options={"verify_aud": False})
    except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
        log.warning("ignoring the access token's claims at sign-in: %s", exc)
        return {}
    return claims if str(claims.get("sub")) == sub else {}


def principal_from_tokens(settings: Settings, meta: dict[str, Any], tokens: dict[str, Any], nonce: str) -> Principal:
    """The signed-in user: sub and name from the ID token, department and roles from ID or access token."""
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise LoginFailed(401, *_BAD_TOKEN, "the token endpoint returned no ID token")
    claims = verify_id_token(settings, meta, id_token, nonce)
    sub = str(claims["sub"])
    access = _access_claims(settings, meta, tokens.get("access_token"), sub)
    department: Any = None
    roles: set[str] = set()
    for source in (claims, access):
        value = claim(source, settings.oidc_department_claim)
        if isinstance(value, list):
            value = value[0] if value else None
        if department is None and isinstance(value, str) and value.strip():
            department = value.strip()
        found = claim(source, settings.oidc_roles_claim) or []
        roles.update(str(r) for r in (found if isinstance(found, list) else [found]))
    if department is None:
        raise LoginFailed(403, "Ihrem Konto ist kein Referat zugeordnet; bitte wenden Sie sich an die IT.",
                          "Your account has no department; please contact IT.",
                          f"no department in the tokens (claim '{settings.oidc_department_claim}')")
    name = claims.get("name") or claims.get("preferred_username") or access.get("preferred_username")
    return Principal(id=sub, kind="user", department=department, roles=frozenset(roles),
                     name=str(name) if name else None)


async def exchange_code(settings: Settings, meta: dict[str, Any], code: str, pending: dict[str, Any]
                        ) -> dict[str, Any]:
    """Trade the code (and the PKCE verifier) for tokens; client_secret_post if a secret is configured."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending["r"],
            "code_verifier": pending["v"], "client_id": _client_id(settings)}
    if settings.oidc_client_secret is not None:
        data["client_secret"] = settings.oidc_client_secret.get_secret_value()
    try:
        async with _http() as client:
            resp = await client.post(meta["token_endpoint"], data=data)
    except httpx.HTTPError as exc:
        raise IdentityProviderUnavailable(f"identity provider unreachable: token endpoint: {exc}") from exc
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200 or not isinstance(body, dict):
        reason = ""
        if isinstance(body, dict):
            reason = f"{body.get('error', '')}: {body.get('error_description', '')}".strip(": ")
        raise LoginFailed(400, "Der Identitätsdienst hat die Anmeldung abgelehnt.",
                          "The identity provider refused the sign-in.",
                          f"token endpoint answered {resp.status_code} {reason or 'without a reason'}")
    return body


def _new_session(runtime: Runtime, principal: Principal, previous: str | None = None) -> str:
    """A fresh session; the browser's previous one (if any) is ended, so signing in again leaves no orphan."""
    with runtime.db.session() as session:
        purge_expired(session)
        if previous:
            delete_session(session, previous)
        cookie, _ = create_session(session, principal, dt.timedelta(hours=runtime.settings.session_hours))
    return cookie


def _unavailable(exc: IdentityProviderUnavailable) -> LoginFailed:
    return LoginFailed(503, "Der Identitätsdienst ist nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
                       "The identity provider is unreachable. Please try again in a moment.", exc.detail)


def error_page(failure: LoginFailed, next_path: str) -> HTMLResponse:
    """A short German/English page with a link to try again."""
    retry = html.escape("/login?" + urlencode({"next": safe_next(next_path)}))
    page = f"""<!doctype html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Anmeldung fehlgeschlagen – Sign-in failed</title>
  <link rel="stylesheet" href="/static/style.css">
</head>
<body>
  <header class="top"><div class="brand"><span class="logo" aria-hidden="true">▦</span> rathaus</div></header>
  <main id="main">
    <h1>Anmeldung fehlgeschlagen</h1>
    <p>{html.escape(failure.de)}</p>
    <p lang="en"><strong>Sign-in failed.</strong> {html.escape(failure.en)}</p>
    <p class="error" role="alert">{html.escape(failure.detail)}</p>
    <p><a href="{retry}">Erneut anmelden</a> · <a href="{retry}" lang="en">Sign in again</a></p>
  </main>
</body>
</html>
"""
    return HTMLResponse(page, status_code=failure.status, headers={"Cache-Control": "no-store"})


# --- routes ---------------------------------------------------------------------------------------------

@router.get("/login")
async def login(request: Request, runtime: RuntimeDep, next_path: str = Query("/", alias="next")) -> Response:
    """Start the sign-in at the identity provider (authorization code flow with PKCE)."""
    settings = runtime.settings
    target = safe_next(next_path)
    if settings.auth_mode != "oidc":
        return RedirectResponse(target, status_code=303)
    client_id = _client_id(settings)
    try:
        meta = await discovery(settings)
    except IdentityProviderUnavailable as exc:
        log.warning("sign-in cannot start: %s", exc.detail)
        return error_page(_unavailable(exc), target)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    redirect_uri = str(request.url_for("auth_callback"))
    url = _with_query(meta["authorization_endpoint"], {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPE,
        "state": state, "nonce": nonce, "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    })
    pending = {"s": state, "n": nonce, "v": verifier, "next": target, "r": redirect_uri,
               "exp": int(time.time()) + LOGIN_TTL_SECONDS}
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(_login_cookie_name(state), sign_login_state(settings, pending), max_age=LOGIN_TTL_SECONDS,
                        path=CALLBACK_PATH, **_cookie_args(settings))
    return response


@router.get(CALLBACK_PATH, name="auth_callback")
async def auth_callback(request: Request, runtime: RuntimeDep, code: str | None = None, state: str | None = None,
                        error: str | None = None, error_description: str | None = None) -> Response:
    """Finish the sign-in: check state, exchange the code, verify the ID token, start a session."""
    settings = runtime.settings
    if settings.auth_mode != "oidc":
        return RedirectResponse("/", status_code=303)
    cookie_name = _login_cookie_name(state or "")
    pending = read_login_state(settings, request.cookies.get(cookie_name)) if state else None
    if pending is None or not hmac.compare_digest(str(pending.get("s", "")).encode(), (state or "").encode()):
        failure = LoginFailed(400, "Die Anmeldung ist abgelaufen oder ungültig. Bitte melden Sie sich erneut an.",
                              "The sign-in expired or is not valid. Please sign in again.",
                              "state missing, unknown or expired")
        return error_page(failure, "/")
    try:
        if error:
            raise LoginFailed(400, "Der Identitätsdienst hat die Anmeldung abgebrochen.",
                              "The identity provider cancelled the sign-in.",
                              f"{error}: {error_description or ''}".strip(": ")[:500])
        if not code:
            raise LoginFailed(400, "Die Antwort des Identitätsdienstes ist unvollständig.",
                              "The identity provider's answer is incomplete.", "no authorization code")
        meta = await discovery(settings)
        tokens = await exchange_code(settings, meta, code, pending)
        principal = await run_in_threadpool(principal_from_tokens, settings, meta, tokens, pending["n"])
    except IdentityProviderUnavailable as exc:
        log.warning("sign-in failed: %s", exc.detail)
        response: Response = error_page(_unavailable(exc), pending["next"])
    except LoginFailed as failure:
        log.warning("sign-in failed: %s", failure.detail)
        response = error_page(failure, pending["next"])
    else:
        cookie = await run_in_threadpool(_new_session, runtime, principal, request.cookies.get(SESSION_COOKIE))
        log.info("signed in: %s (%s)", principal.id, principal.department)
        response = RedirectResponse(pending["next"], status_code=303, headers={"Cache-Control": "no-store"})
        response.set_cookie(SESSION_COOKIE, cookie, max_age=settings.session_hours * 3600, path="/",
                            **_cookie_args(settings))
    response.delete_cookie(cookie_name, path=CALLBACK_PATH, **_cookie_args(settings))
    return response


def _drop_session(runtime: Runtime, cookie: str) -> None:
    with runtime.db.session() as session:
        delete_session(session, cookie)


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    """End the session (CSRF token as header X-CSRF-Token or form field csrf_token), then sign out at the issuer."""
    settings = runtime.settings
    cookie = request.cookies.get(SESSION_COOKIE)
    found = await run_in_threadpool(load_session, runtime, cookie) if cookie else None
    target = "/"
    if found is not None:
        sent = request.headers.get(CSRF_HEADER)
        if not sent:
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else ""
        if not sent or not hmac.compare_digest(sent.encode("utf-8"), found[1].encode("utf-8")):
            raise Forbidden("CSRF token missing or wrong")
        assert cookie is not None
        await run_in_threadpool(_drop_session, runtime, cookie)
        log.info("signed out: %s", found[0].id)
        if settings.auth_mode == "oidc":
            try:
                meta = await discovery(settings)
            except (IdentityProviderUnavailable, ConfigError) as exc:
                log.warning("no sign-out at the identity provider: %s", exc.detail)
                meta = {}
            end = meta.get("end_session_endpoint")
            if isinstance(end, str) and end:
                params = {"post_logout_redirect_uri": str(request.base_url)}
                if settings.oidc_client_id:
                    params["client_id"] = settings.oidc_client_id
                target = _with_query(end, params)
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/", **_cookie_args(settings))
    return response
