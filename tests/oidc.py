"""A real JWKS endpoint on loopback with locally generated keys, and a token factory."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://sso.test.muenchen.example/realms/stadt"
AUDIENCE = "rathaus"


class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        body = json.dumps({"keys": [jwk]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.jwks_url = f"http://127.0.0.1:{self.server.server_port}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, sub: str = "u-1", department: str | None = "KVR", roles: list[str] | None = None,
              key: Any = None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 300,
                                   "realm_access": {"roles": roles or []}, "preferred_username": sub}
        if department is not None:
            payload["department"] = department
        payload.update(claims)
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def settings(self) -> dict[str, Any]:
        return {"auth_mode": "oidc", "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks_url": self.jwks_url}

    def close(self) -> None:
        self.server.shutdown()


def bearer(issuer: Issuer, sub: str, roles: list[str], department: str = "MOR") -> dict[str, str]:
    """An Authorization header with a token of ``issuer`` for ``sub`` in ``department`` with ``roles``."""
    return {"Authorization": "Bearer " + issuer.token(sub=sub, department=department, roles=roles)}
