"""A small but real OpenID Connect provider on loopback for sign-in tests (authorization code flow + PKCE).

Endpoints (all below ``issuer``, which carries a random realm path, so discovery and JWKS caches of the
application never mix up two providers that happen to get the same port):

* ``/.well-known/openid-configuration``: discovery document,
* ``/authorize``: GET shows an accessible sign-in form (``<select id="user" name="user">`` labelled "Benutzer",
  ``<button type="submit">Anmelden</button>``); POST issues a one-time code bound to client_id, redirect_uri,
  nonce and the S256 PKCE challenge and redirects to ``redirect_uri?code=...&state=...``,
* ``/token``: checks code (unknown, used, expired), client (and secret for confidential clients),
  redirect_uri and code_verifier; returns a signed ID token and a signed JWT access token,
* ``/certs``: JWKS, ``/logout``: end-session endpoint (recorded in ``logouts``).

Test hooks: ``id_token_claims`` / ``access_token_claims`` are merged into the next tokens (``None`` removes a
claim), ``signing_key`` signs with another key (the kid stays the provider's), ``token_requests`` lists the
token endpoint's answers.

Usage::

    with OidcProvider(users={"anna": {"name": "Anna Amt", "department": "KVR", "roles": ["user"]}}) as idp:
        runtime = Runtime(make_settings(**idp.settings()))
        with TestClient(create_app(runtime)) as client:
            idp.login(client, "anna", next_path="/")      # client.cookies now hold rathaus_session
            assert client.get("/api/v1/me").json()["name"] == "Anna Amt"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "anna": {"name": "Anna Amt", "department": "KVR", "roles": ["user"]},
    "bernd": {"name": "Bernd Berater", "department": "Sozialreferat", "roles": ["user", "admin"]},
}
DEFAULT_CLIENT_ID = "rathaus-web"
DEFAULT_AUDIENCE = "rathaus"


@dataclass
class _AuthRequest:
    """A validated authorization request waiting for the user to pick an account."""

    client_id: str
    redirect_uri: str
    state: str | None
    nonce: str | None
    challenge: str
    scope: str
    expires: float


@dataclass
class _Code:
    user: str
    request: _AuthRequest
    expires: float
    used: bool = False


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _set_path(claims: dict[str, Any], path: str, value: Any) -> None:
    """Put a value at a dotted claim path (``realm_access.roles``)."""
    *parents, last = path.split(".")
    node = claims
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


class OidcProvider:
    """An OpenID provider in a thread on 127.0.0.1; close() (or ``with``) stops it."""

    def __init__(self, users: dict[str, dict[str, Any]] | None = None, *, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str | None = None, audience: str = DEFAULT_AUDIENCE,
                 department_claim: str = "department", roles_claim: str = "realm_access.roles",
                 redirect_uris: list[str] | None = None, token_seconds: int = 300, code_seconds: int = 60):
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.client_id, self.client_secret, self.audience = client_id, client_secret, audience
        self.department_claim, self.roles_claim = department_claim, roles_claim
        self.redirect_uris = redirect_uris  # None: any http(s) URL is accepted
        self.token_seconds, self.code_seconds = token_seconds, code_seconds
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "k-" + secrets.token_hex(6)
        self.signing_key: Any = None  # tests: sign with another key under the same kid
        self.id_token_claims: dict[str, Any] = {}
        self.access_token_claims: dict[str, Any] = {}
        self.logouts: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self._requests: dict[str, _AuthRequest] = {}
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()
        self._realm = "/realms/" + secrets.token_hex(4)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = self.base + self._realm
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # --- public API ---------------------------------------------------------------------------------

    @property
    def authorization_endpoint(self) -> str:
        return self.issuer + "/authorize"

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/token"

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/certs"

    @property
    def end_session_endpoint(self) -> str:
        return self.issuer + "/logout"

    def settings(self, client_id: str | None = None, **extra: Any) -> dict[str, Any]:
        """Overrides for rathaus' Settings so the web UI signs in here (plain-http cookies)."""
        values: dict[str, Any] = {
            "auth_mode": "oidc", "oidc_issuer": self.issuer, "oidc_audience": self.audience,
            "oidc_jwks_url": self.jwks_url, "oidc_client_id": client_id or self.client_id,
            "oidc_client_secret": self.client_secret, "oidc_department_claim": self.department_claim,
            "oidc_roles_claim": self.roles_claim, "cookie_secure": False,
            "session_secret": "test-session-secret-" + self.kid,
        }
        values.update(extra)
        return values

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_url,
            "end_session_endpoint": self.end_session_endpoint,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "scopes_supported": ["openid", "profile"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def id_token(self, user: str, nonce: str | None = None, client_id: str | None = None) -> str:
        """A signed ID token for a configured user (with the ``id_token_claims`` overrides)."""
        now = int(time.time())
        cid = client_id or self.client_id
        claims: dict[str, Any] = {"iss": self.issuer, "aud": cid, "azp": cid, "iat": now, "auth_time": now,
                                  "exp": now + self.token_seconds, **self._user_claims(user)}
        if nonce is not None:
            claims["nonce"] = nonce
        return self._sign(claims, self.id_token_claims)

    def access_token(self, user: str, client_id: str | None = None) -> str:
        """A signed JWT access token for the API audience (usable as a bearer token as well)."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.audience, "azp": client_id or self.client_id,
                                  "iat": now, "exp": now + self.token_seconds, "scope": "openid profile",
                                  "typ": "Bearer", **self._user_claims(user)}
        return self._sign(claims, self.access_token_claims)

    def authorize(self, authorize_url: str, user: str) -> str:
        """Act as the user's browser at the provider: open the form, pick the user, submit it.

        Returns the absolute ``Location`` the provider redirects to (the client's callback with code and state).
        """
        with httpx.Client(timeout=10, follow_redirects=False) as browser:
            page = browser.get(authorize_url)
            if page.status_code != 200:
                raise AssertionError(f"authorize page answered {page.status_code}: {page.text[:500]}")
            form = parse_form(page.text)
            if not any(option == user for option in form.options.get("user", [])):
                raise AssertionError(f"user {user!r} is not offered by the sign-in form: {form.options}")
            fields = {**form.fields, "user": user}
            answer = browser.post(urljoin(str(page.url), form.action), data=fields)
        if answer.status_code not in (302, 303):
            raise AssertionError(f"sign-in form answered {answer.status_code}: {answer.text[:500]}")
        return answer.headers["location"]

    def login(self, client: httpx.Client, user: str, next_path: str = "/") -> httpx.Response:
        """The whole sign-in of ``client`` (a TestClient or an httpx.Client with base_url of a live server).

        Returns the application's answer to the callback (303 to ``next`` on success); the session cookie is
        in ``client.cookies`` afterwards.
        """
        start = client.get("/login", params={"next": next_path}, follow_redirects=False)
        if start.status_code != 303:
            raise AssertionError(f"/login answered {start.status_code}: {start.text[:500]}")
        callback = self.authorize(start.headers["location"], user)
        return client.get(callback, follow_redirects=False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> OidcProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- tokens -------------------------------------------------------------------------------------

    def _user_claims(self, user: str) -> dict[str, Any]:
        info = self.users[user]
        claims: dict[str, Any] = {"sub": str(info.get("sub", user)), "preferred_username": user}
        if info.get("name"):
            claims["name"] = info["name"]
        if info.get("email"):
            claims["email"] = info["email"]
        if info.get("department") is not None:
            _set_path(claims, self.department_claim, info["department"])
        _set_path(claims, self.roles_claim, list(info.get("roles", [])))
        return claims

    def _sign(self, claims: dict[str, Any], overrides: dict[str, Any]) -> str:
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, self.signing_key or self.key, algorithm="RS256", headers={"kid": self.kid})

    # --- endpoints ----------------------------------------------------------------------------------

    def _check_client(self, client_id: str | None, redirect_uri: str | None) -> None:
        """Errors here are shown to the user, never redirected (the redirect target is not trusted)."""
        if client_id != self.client_id:
            raise OAuthError("invalid_client", f"unknown client {client_id!r}")
        parts = urlsplit(redirect_uri or "")
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise OAuthError("invalid_request", "redirect_uri must be an absolute http(s) URL")
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            raise OAuthError("invalid_request", f"redirect_uri {redirect_uri!r} is not registered")

    def _start(self, query: dict[str, str]) -> tuple[str, str | None]:
        """Validate an authorization request: (form page or None, redirect with an error or None)."""
        self._check_client(query.get("client_id"), query.get("redirect_uri"))
        redirect_uri, state = query["redirect_uri"], query.get("state")

        def refuse(error: str, description: str) -> tuple[str, str]:
            params = {"error": error, "error_description": description}
            if state is not None:
                params["state"] = state
            return "", _with_query(redirect_uri, params)

        if query.get("response_type") != "code":
            return refuse("unsupported_response_type", "only response_type=code is supported")
        if "openid" not in query.get("scope", "").split():
            return refuse("invalid_scope", "the scope must contain openid")
        challenge = query.get("code_challenge", "")
        if query.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            return refuse("invalid_request", "PKCE with code_challenge_method=S256 is required")
        request = _AuthRequest(client_id=query["client_id"], redirect_uri=redirect_uri, state=state,
                               nonce=query.get("nonce"), challenge=challenge, scope=query["scope"],
                               expires=time.time() + 600)
        request_id = secrets.token_urlsafe(24)
        with self._lock:
            self._requests[request_id] = request
        return self._form(request_id), None

    def _form(self, request_id: str, error: str | None = None) -> str:
        options = "\n".join(
            f'        <option value="{html.escape(name)}">{html.escape(str(info.get("name") or name))}</option>'
            for name, info in self.users.items())
        alert = f'\n    <p role="alert">{html.escape(error)}</p>' if error else ""
        return f"""<!doctype html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Anmelden – Test-Identitätsdienst</title>
</head>
<body>
  <main>
    <h1>Anmelden</h1>{alert}
    <form method="post" action="{html.escape(self._realm)}/authorize">
      <input type="hidden" name="request" value="{html.escape(request_id)}">
      <label for="user">Benutzer</label>
      <select id="user" name="user">
{options}
      </select>
      <button type="submit">Anmelden</button>
    </form>
  </main>
</body>
</html>
"""

    def _approve(self, form: dict[str, str]) -> str:
        """The user picked an account: a one-time code, and the redirect back to the client."""
        with self._lock:
            request = self._requests.pop(form.get("request", ""), None)
        if request is None or request.expires < time.time():
            raise OAuthError("invalid_request", "the sign-in request is unknown or expired; start again")
        user = form.get("user", "")
        if user not in self.users:
            raise OAuthError("access_denied", f"unknown user {user!r}")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Code(user=user, request=request, expires=time.time() + self.code_seconds)
        params = {"code": code}
        if request.state is not None:
            params["state"] = request.state
        return _with_query(request.redirect_uri, params)

    def _token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        if form.get("grant_type") != "authorization_code":
            raise OAuthError("unsupported_grant_type", "only authorization_code is supported")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            basic = base64.b64decode(authorization[6:]).decode("utf-8")
            client_id, _, secret = basic.partition(":")
        if client_id != self.client_id:
            raise OAuthError("invalid_client", f"unknown client {client_id!r}", 401)
        if self.client_secret is not None and not hmac.compare_digest((secret or "").encode(),
                                                                      self.client_secret.encode()):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            first_use = code is not None and not code.used
            if code is not None:
                code.used = True  # any redemption attempt consumes the code
        if code is None:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if not first_use:
            raise OAuthError("invalid_grant", "authorization code already used")
        if code.expires < time.time():
            raise OAuthError("invalid_grant", "authorization code expired")
        if code.request.client_id != client_id:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != code.request.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(s256(verifier), code.request.challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed")
        return {"access_token": self.access_token(code.user, client_id), "token_type": "Bearer",
                "expires_in": self.token_seconds, "scope": code.request.scope,
                "id_token": self.id_token(code.user, code.request.nonce, client_id)}

    def _logout(self, query: dict[str, str]) -> str | None:
        """Record the sign-out; redirect back only to an http(s) URL of the known client."""
        self.logouts.append(query)
        target = query.get("post_logout_redirect_uri")
        if target and query.get("client_id") == self.client_id and urlsplit(target).scheme in ("http", "https"):
            return target
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _route(self) -> tuple[str, dict[str, str]]:
                parts = urlsplit(self.path)
                path = parts.path
                if not path.startswith(provider._realm + "/"):
                    return "", {}
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                return path[len(provider._realm):], query

            def _form_body(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8") if length else ""
                return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

            def _send(self, status: int, body: str | bytes = b"", content_type: str = "text/html; charset=utf-8",
                      headers: dict[str, str] | None = None) -> None:
                data = body.encode("utf-8") if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _json(self, status: int, data: dict[str, Any]) -> None:
                self._send(status, json.dumps(data), "application/json")

            def _error_page(self, exc: OAuthError) -> None:
                self._send(exc.status, f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                                       f"<title>Sign-in error</title></head><body><main><h1>{exc.error}</h1>"
                                       f"<p role=\"alert\">{html.escape(exc.description)}</p></main></body></html>")

            def do_GET(self) -> None:
                path, query = self._route()
                if path == "/.well-known/openid-configuration":
                    self._json(200, provider.discovery())
                elif path == "/certs":
                    self._json(200, provider.jwks())
                elif path == "/authorize":
                    try:
                        page, redirect = provider._start(query)
                    except OAuthError as exc:
                        self._error_page(exc)
                        return
                    if redirect is not None:
                        self._send(302, headers={"Location": redirect})
                    else:
                        self._send(200, page)
                elif path == "/logout":
                    target = provider._logout(query)
                    if target:
                        self._send(302, headers={"Location": target})
                    else:
                        self._send(200, "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\">"
                                        "<title>Abgemeldet</title></head><body><main><h1>Sie sind abgemeldet"
                                        "</h1></main></body></html>")
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                path, _ = self._route()
                form = self._form_body()
                if path == "/authorize":
                    try:
                        self._send(302, headers={"Location": provider._approve(form)})
                    except OAuthError as exc:
                        self._error_page(exc)
                elif path == "/token":
                    try:
                        tokens = provider._token(form, self.headers.get("Authorization"))
                    except OAuthError as exc:
                        provider.token_requests.append({"form": form, "error": exc.error})
                        self._json(exc.status, {"error": exc.error, "error_description": exc.description})
                        return
                    provider.token_requests.append({"form": form, "error": None})
                    self._json(200, tokens)
                else:
                    self._json(404, {"error": "not_found"})

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@dataclass
class ParsedForm:
    action: str
    fields: dict[str, str]
    options: dict[str, list[str]]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = ParsedForm(action="", fields={}, options={})
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.form.fields[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.form.options.setdefault(self._select, [])
        elif tag == "option" and self._select is not None:
            self.form.options[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def parse_form(page: str) -> ParsedForm:
    """The sign-in form of a provider page: action, hidden fields and the options of each select."""
    parser = _FormParser()
    parser.feed(page)
    return parser.form
