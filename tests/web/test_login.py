"""Web sign-in against a real OpenID provider on loopback: code flow with PKCE, sessions, CSRF, logout."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from oidc_provider import OidcProvider, s256
from rathaus.app import create_app
from rathaus.core.sessions import SESSION_COOKIE
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime
from rathaus.web.login import CALLBACK_PATH, LOGIN_COOKIE_PREFIX

USERS: dict[str, dict[str, Any]] = {
    "anna": {"name": "Anna Amt", "department": "KVR", "roles": ["user"]},
    "bernd": {"name": "Bernd Berater", "department": "Sozialreferat", "roles": ["user", "admin"]},
    "otto": {"name": "Otto Ohnereferat", "roles": ["user"]},  # no department claim
}
App = tuple[Runtime, TestClient]


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with OidcProvider(users=USERS) as provider:
        yield provider


@contextmanager
def start_app(make_settings: Callable[..., Settings], provider: OidcProvider, **overrides: Any) -> Iterator[App]:
    rt = Runtime(make_settings(**provider.settings(**overrides)))
    try:
        with TestClient(create_app(rt), follow_redirects=False) as c:
            yield rt, c
    finally:
        rt.close()


@pytest.fixture
def app(make_settings: Callable[..., Settings], idp: OidcProvider) -> Iterator[App]:
    with start_app(make_settings, idp) as pair:
        yield pair


# --- helpers ----------------------------------------------------------------------------------------------

def sessions(rt: Runtime) -> list[dict[str, Any]]:
    with rt.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM web_sessions ORDER BY created_at")).mappings()]


def set_cookies(resp: httpx.Response) -> dict[str, str]:
    """name -> whole Set-Cookie header of a response."""
    return {h.split("=", 1)[0]: h for h in resp.headers.get_list("set-cookie")}


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def begin(c: TestClient, next_path: str = "/") -> tuple[str, str]:
    """GET /login: (authorize URL at the provider, state)."""
    resp = c.get("/login", params={"next": next_path})
    assert resp.status_code == 303, resp.text
    location = resp.headers["location"]
    return location, query(location)["state"]


def csrf_of(rt: Runtime, cookie: str) -> str:
    with rt.db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT csrf FROM web_sessions WHERE id = :id"),
                            {"id": hashlib.sha256(cookie.encode()).hexdigest()}).scalar_one()


def sign_in(c: TestClient, idp: OidcProvider, user: str = "anna", next_path: str = "/") -> str:
    """Sign in; returns the session cookie value."""
    resp = idp.login(c, user, next_path)
    assert resp.status_code == 303, resp.text
    return c.cookies[SESSION_COOKIE]


def use_cookie(c: TestClient, value: str) -> None:
    """Make the client send exactly this session cookie (as a browser that kept or forged it would)."""
    c.cookies.delete(SESSION_COOKIE)
    c.cookies.set(SESSION_COOKIE, value)


def assert_failed_page(resp: httpx.Response, status: int, detail: str) -> None:
    """A short HTML error page with the reason, no trace, no session."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["cache-control"] == "no-store"
    assert "<h1>Anmeldung fehlgeschlagen</h1>" in resp.text and "Sign-in failed" in resp.text
    assert detail in resp.text, resp.text
    assert "Traceback" not in resp.text and 'href="/login?next=' in resp.text
    assert SESSION_COOKIE not in set_cookies(resp)


def assert_problem(resp: httpx.Response, status: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and text in body["detail"], body


# --- the happy path ---------------------------------------------------------------------------------------

def test_page_without_session_goes_to_login_and_login_to_the_provider(app: App, idp: OidcProvider) -> None:
    _, c = app
    page = c.get("/", params={"lang": "en"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?" + urlencode({"next": "/?lang=en"})
    assert page.headers["cache-control"] == "no-store"

    resp = c.get(page.headers["location"])
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert location.startswith(idp.authorization_endpoint + "?")
    params = query(location)
    assert params["response_type"] == "code" and params["client_id"] == "rathaus-web"
    assert params["redirect_uri"] == "http://testserver" + CALLBACK_PATH
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert set(params["scope"].split()) >= {"openid"}
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32 and params["state"] != params["nonce"]
    login_cookie = set_cookies(resp)[LOGIN_COOKIE_PREFIX + params["state"][:16]]
    assert f"Path={CALLBACK_PATH}" in login_cookie and "HttpOnly" in login_cookie
    assert "samesite=lax" in login_cookie.lower() and "Max-Age=600" in login_cookie
    assert SESSION_COOKIE not in set_cookies(resp)  # no session before the callback


def test_full_code_flow_creates_a_session(app: App, idp: OidcProvider) -> None:
    _, c = app
    resp = idp.login(c, "anna", "/?lang=en")
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"] == "/?lang=en"
    cookies = set_cookies(resp)
    session_cookie = cookies[SESSION_COOKIE]
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()
    assert "Path=/" in session_cookie and f"Max-Age={8 * 3600}" in session_cookie
    assert "Secure" not in session_cookie  # cookie_secure=False in these plain-http tests
    login_cookie = next(v for k, v in cookies.items() if k.startswith(LOGIN_COOKIE_PREFIX))
    assert "Max-Age=0" in login_cookie and f"Path={CALLBACK_PATH}" in login_cookie  # the one-time state is gone

    # the provider saw a correct PKCE exchange for the web client
    [token_request] = idp.token_requests
    assert token_request["error"] is None
    form = token_request["form"]
    assert form["client_id"] == "rathaus-web" and form["redirect_uri"] == "http://testserver/auth/callback"
    assert len(form["code_verifier"]) >= 43

    page = c.get("/", params={"lang": "de"})
    assert page.status_code == 200
    assert "<dd>Anna Amt</dd>" in page.text and "<dd>KVR</dd>" in page.text

    me = c.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {"id": "anna", "kind": "user", "department": "KVR", "roles": ["user"], "name": "Anna Amt"}


def test_session_cookie_is_stored_only_as_sha256(app: App, idp: OidcProvider) -> None:
    rt, c = app
    cookie = sign_in(c, idp, "bernd")
    [row] = sessions(rt)
    assert row["id"] == hashlib.sha256(cookie.encode("utf-8")).hexdigest()
    assert cookie not in repr(row)
    assert row["principal"] == {"id": "bernd", "kind": "user", "department": "Sozialreferat",
                                "roles": ["admin", "user"], "name": "Bernd Berater"}
    assert len(row["csrf"]) >= 40 and row["csrf"] != cookie
    lifetime = (row["expires_at"] - row["created_at"]).total_seconds()
    assert abs(lifetime - 8 * 3600) < 5


def test_signing_in_again_replaces_the_previous_session(app: App, idp: OidcProvider) -> None:
    rt, c = app
    first = sign_in(c, idp, "anna")
    second = sign_in(c, idp, "bernd")
    assert first != second
    [row] = sessions(rt)
    assert row["id"] == hashlib.sha256(second.encode()).hexdigest() and row["principal"]["id"] == "bernd"
    assert c.get("/api/v1/me").json()["name"] == "Bernd Berater"
    use_cookie(c, first)
    assert_problem(c.get("/api/v1/me"), 401, "expired or is unknown")


def test_api_with_session_cookie_needs_csrf_for_unsafe_methods(app: App, idp: OidcProvider) -> None:
    rt, c = app
    cookie = sign_in(c, idp)
    assert c.get("/api/v1/chats").json() == []

    missing = c.post("/api/v1/chats", json={"title": "Ohne Token", "data_class": "intern"})
    assert_problem(missing, 403, "CSRF token missing or wrong")
    wrong = c.post("/api/v1/chats", json={"title": "Falsches Token", "data_class": "intern"},
                   headers={"X-CSRF-Token": "x" * 43})
    assert_problem(wrong, 403, "CSRF token missing or wrong")
    assert c.get("/api/v1/chats").json() == []

    csrf = csrf_of(rt, cookie)
    created = c.post("/api/v1/chats", json={"title": "Mit Token", "data_class": "intern"},
                     headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "Mit Token"
    assert [chat["title"] for chat in c.get("/api/v1/chats").json()] == ["Mit Token"]

    # a cookie of a session that does not exist is not a sign-in
    use_cookie(c, "forged-" + cookie[7:])
    assert_problem(c.get("/api/v1/me"), 401, "web session has expired or is unknown")


# --- failed sign-ins ----------------------------------------------------------------------------------------

def test_wrong_state_is_refused_before_the_code_is_redeemed(app: App, idp: OidcProvider) -> None:
    rt, c = app
    authorize_url, state = begin(c)
    callback = idp.authorize(authorize_url, "anna")
    assert query(callback)["state"] == state
    forged = callback.replace(f"state={state}", "state=" + "A" * len(state))
    resp = c.get(forged)
    assert_failed_page(resp, 400, "state missing, unknown or expired")
    no_state = c.get(CALLBACK_PATH, params={"code": query(callback)["code"]})
    assert_failed_page(no_state, 400, "state missing, unknown or expired")
    odd = c.get(CALLBACK_PATH, params={"state": "a;b=c\r\nSet-Cookie: x=y", "code": "x"})
    assert_failed_page(odd, 400, "state missing, unknown or expired")
    assert "x" not in set_cookies(odd)
    assert idp.token_requests == [] and sessions(rt) == []


def test_replayed_code_is_refused(app: App, idp: OidcProvider) -> None:
    rt, c = app
    authorize_url, state = begin(c)
    login_cookie = c.cookies[LOGIN_COOKIE_PREFIX + state[:16]]
    callback = idp.authorize(authorize_url, "anna")
    assert c.get(callback).status_code == 303
    assert len(sessions(rt)) == 1

    # the login state was used up with the first callback ...
    assert_failed_page(c.get(callback), 400, "state missing, unknown or expired")
    # ... and even with the old login cookie replayed, the provider will not redeem the code twice
    c.cookies.set(LOGIN_COOKIE_PREFIX + state[:16], login_cookie, path=CALLBACK_PATH)
    replay = c.get(callback)
    assert_failed_page(replay, 400, "token endpoint answered 400 invalid_grant: authorization code already used")
    assert [r["error"] for r in idp.token_requests] == [None, "invalid_grant"]
    assert len(sessions(rt)) == 1


def test_code_with_another_sign_ins_verifier_fails_pkce(app: App, idp: OidcProvider) -> None:
    """A code injected into another pending sign-in is exchanged with the wrong verifier: PKCE stops it."""
    rt, c = app
    victim_url, _ = begin(c)
    _, attacker_state = begin(c)
    victim_callback = idp.authorize(victim_url, "anna")
    injected = victim_callback.replace(f"state={query(victim_callback)['state']}", f"state={attacker_state}")
    resp = c.get(injected)
    assert_failed_page(resp, 400, "invalid_grant: PKCE verification failed")
    [token_request] = idp.token_requests
    assert token_request["error"] == "invalid_grant"
    assert s256(token_request["form"]["code_verifier"]) != query(victim_url)["code_challenge"]
    assert sessions(rt) == []


def _expired(idp: OidcProvider) -> None:
    now = int(time.time())
    idp.id_token_claims.update({"iat": now - 7200, "exp": now - 3600})


@pytest.mark.parametrize(
    ("user", "tamper", "status", "detail"),
    [
        ("anna", lambda idp: idp.id_token_claims.update({"nonce": "nonce-of-another-sign-in"}), 401,
         "the nonce does not belong to this sign-in"),
        ("anna", lambda idp: setattr(idp, "signing_key", rsa.generate_private_key(public_exponent=65537,
                                                                                  key_size=2048)),
         401, "Signature verification failed"),
        ("anna", _expired, 401, "Signature has expired"),
        ("anna", lambda idp: idp.id_token_claims.update({"aud": "another-client"}), 401, "Audience doesn"),
        ("anna", lambda idp: idp.id_token_claims.update({"iss": "https://evil.example/realms/x"}), 401,
         "Invalid issuer"),
        ("anna", lambda idp: idp.id_token_claims.update({"nonce": None}), 401, "nonce"),
        ("otto", lambda idp: None, 403, "no department in the tokens (claim &#x27;department&#x27;)"),
    ],
    ids=["bad-nonce", "other-key", "expired", "audience", "issuer", "no-nonce", "no-department"],
)
def test_bad_id_tokens_give_an_error_page_and_no_session(app: App, idp: OidcProvider, user: str,
                                                         tamper: Callable[[OidcProvider], Any], status: int,
                                                         detail: str) -> None:
    rt, c = app
    tamper(idp)
    resp = idp.login(c, user, "/")
    assert_failed_page(resp, status, detail)
    assert [r["error"] for r in idp.token_requests] == [None]  # the code exchange itself worked
    assert sessions(rt) == []
    assert c.get("/").status_code == 303  # still signed out


def test_cancelled_sign_in_at_the_provider(app: App, idp: OidcProvider) -> None:
    rt, c = app
    _, state = begin(c, "/?lang=en")
    resp = c.get(CALLBACK_PATH, params={"error": "access_denied", "error_description": "user <b>cancelled</b>",
                                        "state": state})
    assert_failed_page(resp, 400, "access_denied: user &lt;b&gt;cancelled&lt;/b&gt;")
    assert "<b>" not in resp.text
    assert 'href="/login?next=%2F%3Flang%3Den"' in resp.text  # try again returns to the page
    assert idp.token_requests == [] and sessions(rt) == []


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil", "/\\/evil.example",
                                    "//evil.example/%2F..", "/\t/evil.example", "/\n/evil.example", " //evil.example",
                                    "javascript:alert(1)", "/logout"])
def test_open_redirects_in_next_land_on_the_start_page(app: App, idp: OidcProvider, target: str) -> None:
    rt, c = app
    resp = idp.login(c, "anna", target)
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"] == "/"
    assert len(sessions(rt)) == 1


def test_relative_next_path_with_query_is_kept(app: App, idp: OidcProvider) -> None:
    _, c = app
    resp = idp.login(c, "anna", "/embed/x?lang=en&a=b%20c")
    assert resp.headers["location"] == "/embed/x?lang=en&a=b%20c"


# --- logout and expiry -------------------------------------------------------------------------------------

def test_logout_with_csrf_deletes_the_session_and_ends_it_at_the_provider(app: App, idp: OidcProvider) -> None:
    rt, c = app
    cookie = sign_in(c, idp)
    other = sign_in(TestClient(c.app, follow_redirects=False), idp, "bernd")  # another user's session stays
    assert len(sessions(rt)) == 2

    resp = c.post("/logout", headers={"X-CSRF-Token": csrf_of(rt, cookie)})
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert location.startswith(idp.end_session_endpoint + "?")
    assert query(location) == {"post_logout_redirect_uri": "http://testserver/", "client_id": "rathaus-web"}
    assert set_cookies(resp)[SESSION_COOKIE].startswith(f'{SESSION_COOKIE}=""; ')
    assert "Max-Age=0" in set_cookies(resp)[SESSION_COOKIE]
    [left] = sessions(rt)
    assert left["id"] == hashlib.sha256(other.encode()).hexdigest()

    # the provider ends its session and sends the browser back
    back = httpx.get(location, follow_redirects=False)
    assert back.status_code == 302 and back.headers["location"] == "http://testserver/"
    assert idp.logouts == [{"post_logout_redirect_uri": "http://testserver/", "client_id": "rathaus-web"}]

    # the old cookie is worthless now, even if the browser kept it
    use_cookie(c, cookie)
    assert c.get("/").headers["location"] == "/login?next=%2F"
    assert_problem(c.get("/api/v1/me"), 401, "expired or is unknown")


def test_logout_form_field_csrf_works(app: App, idp: OidcProvider) -> None:
    rt, c = app
    cookie = sign_in(c, idp)
    resp = c.post("/logout", data={"csrf_token": csrf_of(rt, cookie)})
    assert resp.status_code == 303 and resp.headers["location"].startswith(idp.end_session_endpoint)
    assert sessions(rt) == []


def test_logout_without_or_with_wrong_csrf_is_forbidden(app: App, idp: OidcProvider) -> None:
    rt, c = app
    sign_in(c, idp)
    assert_problem(c.post("/logout"), 403, "CSRF token missing or wrong")
    assert_problem(c.post("/logout", headers={"X-CSRF-Token": "wrong"}), 403, "CSRF token missing or wrong")
    assert_problem(c.post("/logout", data={"csrf_token": "wrong"}), 403, "CSRF token missing or wrong")
    assert len(sessions(rt)) == 1
    assert c.get("/api/v1/me").json()["id"] == "anna"
    assert idp.logouts == []


def test_logout_without_session_just_goes_home(app: App) -> None:
    _, c = app
    resp = c.post("/logout")
    assert resp.status_code == 303 and resp.headers["location"] == "/"


def test_expired_session_sends_the_browser_to_login_again(app: App, idp: OidcProvider) -> None:
    rt, c = app
    cookie = sign_in(c, idp)
    assert c.get("/").status_code == 200
    with rt.db.engine.begin() as conn:
        changed = conn.execute(sa.text("UPDATE web_sessions SET expires_at = now() - interval '1 minute' "
                                       "WHERE id = :id"), {"id": hashlib.sha256(cookie.encode()).hexdigest()})
        assert changed.rowcount == 1
    page = c.get("/", params={"lang": "en"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F%3Flang%3Den"
    assert sessions(rt) == []  # the expired row is removed on sight
    assert_problem(c.get("/api/v1/me"), 401, "expired or is unknown")
    # and signing in again works
    assert idp.login(c, "anna", "/").status_code == 303
    assert c.get("/api/v1/me").json()["name"] == "Anna Amt"


# --- provider variants and outages ------------------------------------------------------------------------

def test_confidential_client_authenticates_with_its_secret(make_settings: Callable[..., Settings]) -> None:
    with OidcProvider(users=USERS, client_secret="s3cret") as idp:
        with start_app(make_settings, idp) as (rt, c):
            assert idp.login(c, "bernd").status_code == 303
            assert c.get("/api/v1/me").json()["department"] == "Sozialreferat"
            assert idp.token_requests[-1]["form"]["client_secret"] == "s3cret"
        with start_app(make_settings, idp, oidc_client_secret="wrong") as (rt, c):
            resp = idp.login(c, "bernd")
            assert_failed_page(resp, 400, "token endpoint answered 401 invalid_client: client authentication failed")
            assert sessions(rt) == []


def test_identity_provider_down_at_login_is_a_503_page(make_settings: Callable[..., Settings]) -> None:
    idp = OidcProvider(users=USERS)
    idp.close()  # nothing listens on its port any more
    with start_app(make_settings, idp) as (rt, c):
        page = c.get("/")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2F"
        resp = c.get("/login", params={"next": "/"})
        assert resp.status_code == 503, resp.text
        assert resp.headers["content-type"].startswith("text/html")
        assert "Der Identitätsdienst ist nicht erreichbar" in resp.text
        assert "identity provider unreachable" in resp.text and "Traceback" not in resp.text
        assert sessions(rt) == []


def test_identity_provider_down_at_callback_is_a_503_page(app: App, idp: OidcProvider) -> None:
    rt, c = app
    authorize_url, _ = begin(c)
    callback = idp.authorize(authorize_url, "anna")
    idp.close()
    resp = c.get(callback)
    assert_failed_page(resp, 503, "identity provider unreachable: token endpoint")
    assert "Der Identitätsdienst ist nicht erreichbar" in resp.text
    assert sessions(rt) == []


def test_provider_refuses_bad_authorization_requests(idp: OidcProvider) -> None:
    """The provider itself is strict, so the application's requests are checked for real."""
    good = {"response_type": "code", "client_id": "rathaus-web", "redirect_uri": "http://app.test/cb",
            "scope": "openid", "state": "st", "nonce": "n", "code_challenge": s256("v" * 50),
            "code_challenge_method": "S256"}
    ok = httpx.get(idp.authorization_endpoint, params=good)
    assert ok.status_code == 200
    assert '<label for="user">Benutzer</label>' in ok.text and '<select id="user" name="user">' in ok.text
    assert '<button type="submit">Anmelden</button>' in ok.text and '<option value="anna">Anna Amt</option>' in ok.text
    unknown_client = httpx.get(idp.authorization_endpoint, params={**good, "client_id": "evil"})
    assert unknown_client.status_code == 400 and "unknown client" in unknown_client.text
    plain = httpx.get(idp.authorization_endpoint, params={**good, "code_challenge_method": "plain"})
    assert plain.status_code == 302
    assert query(plain.headers["location"]) == {"error": "invalid_request", "state": "st",
                                                "error_description": "PKCE with code_challenge_method=S256 "
                                                                     "is required"}
    callback = idp.authorize(str(httpx.URL(idp.authorization_endpoint, params=good)), "anna")
    code = query(callback)["code"]
    token = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://app.test/cb",
             "client_id": "rathaus-web", "code_verifier": "w" * 50}
    refused = httpx.post(idp.token_endpoint, data=token)
    assert refused.status_code == 400 and refused.json()["error_description"] == "PKCE verification failed"
