"""OIDC tokens are verified against the issuer's JWKS; API keys are hashed at rest; departments are enforced."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from oidc import AUDIENCE, Issuer
from rathaus.app import create_app
from rathaus.core import auth, metering
from rathaus.core.errors import ConfigError
from rathaus.runtime import Runtime


@pytest.fixture
def oidc(make_settings: Callable, issuer: Issuer) -> Iterator[tuple[Runtime, TestClient]]:
    rt = Runtime(make_settings(**issuer.settings()))
    with TestClient(create_app(rt)) as c:
        yield rt, c
    rt.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(resp, status: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and text in body["detail"], body


def test_valid_token_gives_department_and_roles(oidc, issuer: Issuer) -> None:
    _, c = oidc
    resp = c.get("/api/v1/me", headers=bearer(issuer.token(sub="anna", department="Sozialreferat", roles=["admin"])))
    assert resp.status_code == 200
    assert resp.json() == {"id": "anna", "kind": "user", "department": "Sozialreferat", "roles": ["admin"],
                           "name": "anna"}


def test_missing_token_is_401_with_challenge(oidc) -> None:
    _, c = oidc
    resp = c.get("/api/v1/me")
    assert_problem(resp, 401, "bearer token")
    assert resp.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda i: i.token(exp=int(time.time()) - 3600), "token expired"),
        (lambda i: i.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)), "signature invalid"),
        (lambda i: i.token(aud="other-app"), "audience"),
        (lambda i: i.token(iss="https://evil.example/realms/x"), "unknown issuer"),
        (lambda i: i.token(kid="unknown-kid"), "invalid token"),
        (lambda i: "not.a.jwt", "invalid token"),
    ],
    ids=["expired", "forged", "audience", "issuer", "unknown-key", "garbage"],
)
def test_bad_tokens_are_refused(oidc, issuer: Issuer, make_token, message: str) -> None:
    _, c = oidc
    assert_problem(c.get("/api/v1/me", headers=bearer(make_token(issuer))), 401, message)


def test_alg_none_token_is_refused(oidc, issuer: Issuer) -> None:
    _, c = oidc
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": issuer.kid}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "x", "aud": AUDIENCE, "department": "KVR"}).encode())
    token = f"{header.decode()}.{payload.rstrip(b'=').decode()}."
    assert c.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_token_without_department_is_forbidden(oidc, issuer: Issuer) -> None:
    _, c = oidc
    assert_problem(c.get("/api/v1/me", headers=bearer(issuer.token(department=None))), 403, "no department")


def test_malformed_authorization_header(oidc) -> None:
    _, c = oidc
    assert_problem(c.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "Bearer <token>")


def test_api_keys_are_hashed_at_rest_and_can_be_revoked(oidc) -> None:
    rt, c = oidc
    with rt.db.session() as s:
        key = auth.create_api_key(s, "fachverfahren-x", "KVR", ["service"])
    with rt.db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT * FROM api_keys")).mappings().one()
    assert key not in json.dumps({k: str(v) for k, v in stored.items()})
    assert stored["secret_hash"] != key and len(stored["secret_hash"]) == 64
    resp = c.get("/api/v1/me", headers=bearer(key))
    assert resp.json()["id"] == "service:fachverfahren-x" and resp.json()["department"] == "KVR"
    assert_problem(c.get("/api/v1/me", headers=bearer(key[:-2] + "xx")), 401, "unknown API key")
    with rt.db.session() as s:
        auth.revoke_api_key(s, "fachverfahren-x")
    assert_problem(c.get("/api/v1/me", headers=bearer(key)), 401, "revoked")


def _usage(rt: Runtime, department: str, n: int) -> None:
    with rt.db.session() as s:
        for _ in range(n):
            metering.record(s, request_id="r", department=department, principal="p", principal_kind="user",
                            use_case="t", model="m", provider="embedded", operation="chat", data_class="intern",
                            status="ok", prompt_tokens=10, completion_tokens=5)


def test_usage_of_other_departments_is_not_readable(oidc, issuer: Issuer) -> None:
    rt, c = oidc
    _usage(rt, "KVR", 2)
    _usage(rt, "Sozialreferat", 3)
    kvr = bearer(issuer.token(sub="k", department="KVR"))
    own = c.get("/api/v1/usage", headers=kvr).json()
    assert [(r["key"], r["requests"]) for r in own["rows"]] == [("KVR", 2)]
    assert_problem(c.get("/api/v1/usage?department=Sozialreferat", headers=kvr), 403, "own department")
    assert_problem(c.get("/api/v1/budgets/Sozialreferat", headers=kvr), 403, "own department")
    assert_problem(c.get("/api/v1/usage?by=principal", headers=kvr), 403, "admin or auditor")
    assert_problem(c.put("/api/v1/budgets/KVR", json={"eur_per_month": 5}, headers=kvr), 403, "admin")
    assert_problem(c.get("/api/v1/audit/verify", headers=kvr), 403, "admin")
    admin = bearer(issuer.token(sub="a", department="IT", roles=["admin"]))
    everything = c.get("/api/v1/usage", headers=admin).json()
    assert sorted((r["key"], r["requests"]) for r in everything["rows"]) == [("KVR", 2), ("Sozialreferat", 3)]
    auditor = bearer(issuer.token(sub="r", department="Revision", roles=["auditor"]))
    assert c.get("/api/v1/usage?department=KVR", headers=auditor).json()["rows"][0]["requests"] == 2


def test_local_mode_only_with_embedded_database(make_settings: Callable) -> None:
    with pytest.raises(ConfigError, match="only allowed with the embedded database"):
        Runtime(make_settings(database_url="postgresql://x@127.0.0.1:1/y"))
