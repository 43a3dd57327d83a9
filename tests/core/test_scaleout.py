"""Two API processes against one PostgreSQL serve the same users consistently."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from oidc import Issuer
from rathaus.core import auth
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime


@pytest.fixture
def two_replicas(make_settings: Callable[..., Settings], tmp_path: Path
                 ) -> Iterator[tuple[Settings, list[str], Issuer]]:
    issuer = Issuer()
    settings = make_settings(**issuer.settings())
    Runtime(settings).close()  # migrate once
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
                "RATHAUS_AUTH_MODE": "oidc", "RATHAUS_OIDC_ISSUER": settings.oidc_issuer or "",
                "RATHAUS_OIDC_AUDIENCE": settings.oidc_audience or "", "RATHAUS_OIDC_JWKS_URL": issuer.jwks_url})
    procs, urls = [], []
    for i in range(2):
        port = free_port()
        log = (tmp_path / f"replica{i}.log").open("w")
        procs.append(subprocess.Popen([sys.executable, "-m", "rathaus.cli", "serve", "--port", str(port)], env=env,
                                      stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.time() + 90
        for url in urls:
            while True:
                try:
                    if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline:
                    pytest.fail("replicas did not become ready: " + (tmp_path / "replica0.log").read_text()[-2000:])
                time.sleep(0.3)
        yield settings, urls, issuer
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
        issuer.close()


def test_replicas_share_keys_budgets_usage_and_audit(two_replicas) -> None:
    settings, (a, b), issuer = two_replicas
    with Runtime(settings, migrate=False) as rt, rt.db.session() as s:
        key = auth.create_api_key(s, "verfahren", "KVR", [])
    admin = {"Authorization": "Bearer " + issuer.token(sub="admin", department="IT", roles=["admin"])}
    service = {"Authorization": f"Bearer {key}"}
    # a budget set through replica A is enforced by replica B
    assert httpx.put(a + "/api/v1/budgets/KVR", json={"tokens_per_month": 10_000}, headers=admin).status_code == 200
    ask = {"messages": [{"role": "user", "content": "Sag Hallo"}], "max_tokens": 3, "data_class": "intern"}
    for url in (a, b, a, b):
        resp = httpx.post(url + "/v1/chat/completions", json=ask, headers=service, timeout=120)
        assert resp.status_code == 200, resp.text
    usage_a = httpx.get(a + "/api/v1/usage?department=KVR", headers=admin).json()["rows"]
    usage_b = httpx.get(b + "/api/v1/usage?department=KVR", headers=admin).json()["rows"]
    assert usage_a == usage_b and usage_a[0]["requests"] == 4
    budget = httpx.get(b + "/api/v1/budgets/KVR", headers=admin).json()
    assert budget["tokens_used"] == usage_a[0]["prompt_tokens"] + usage_a[0]["completion_tokens"]
    verify = httpx.get(a + "/api/v1/audit/verify", headers=admin).json()
    assert verify["ok"] and verify["checked"] == 5  # the budget change and four model calls, one chain
    # a key revoked through the database is refused by both replicas at once
    with Runtime(settings, migrate=False) as rt, rt.db.session() as s:
        auth.revoke_api_key(s, "verfahren")
    for url in (a, b):
        assert httpx.post(url + "/v1/chat/completions", json=ask, headers=service).status_code == 401
