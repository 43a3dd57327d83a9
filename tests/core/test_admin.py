"""Administration as one service (rathaus.core.admin): the CLI and the API validate the same way, refuse with the
same message, and every change writes exactly one audit record with the same fields."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from rathaus.core import admin, audit
from rathaus.core.auth import Principal, local_principal
from rathaus.core.errors import BadRequest, Forbidden, NotFound
from rathaus.runtime import Runtime

FIELDS = ("actor", "department", "use_case", "action", "model", "data_class", "details")


def cli(runtime: Runtime, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The ``rathaus`` command on the runtime's own database (and audit key)."""
    s = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(s.data_dir), "RATHAUS_DATABASE_NAME": s.database_name,
                "RATHAUS_MODELS_FILE": str(s.models_file), "RATHAUS_CACHE_DIR": str(s.cache_dir), "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "rathaus.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def records(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.db.session() as session:
        rows = session.execute(sa.text(f"SELECT {', '.join(FIELDS)} FROM audit_log ORDER BY seq")).mappings()
        return [dict(r) for r in rows]


def cli_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout
    [line] = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith("rathaus: ")
    return line.removeprefix("rathaus: ")


def test_set_budget_from_cli_and_api_writes_one_identical_record_each(runtime: Runtime, client: TestClient,
                                                                       tmp_path: Path) -> None:
    done = cli(runtime, tmp_path, "budget", "set", "KVR", "--eur", "12,50", "--tokens", "5000")
    assert done.returncode == 0, done.stderr
    [from_cli] = records(runtime)
    assert client.put("/api/v1/budgets/KVR", json={"eur_per_month": "12.50", "tokens_per_month": 5000}
                      ).status_code == 200
    from_cli_again, from_api = records(runtime)
    assert from_cli_again == from_cli
    expected = {"use_case": "administration", "action": "budget.set", "model": None, "data_class": None,
                "department": runtime.settings.local_department,
                "details": {"department": "KVR", "eur_per_month": "12.50", "tokens_per_month": 5000}}
    assert from_cli == expected | {"actor": "cli"}
    assert from_api == expected | {"actor": local_principal(runtime.settings).id}


@pytest.mark.parametrize(("cli_args", "body", "message"), [
    (("KVR", "--eur", "-5"), {"eur_per_month": -5}, "€ per month must be between 0 and 10,000,000, not -5"),
    (("KVR", "--eur", "20000000"), {"eur_per_month": 20_000_000},
     "€ per month must be between 0 and 10,000,000, not 20000000"),
    (("KVR", "--eur", "1.23456"), {"eur_per_month": "1.23456"},
     "€ per month has at most 4 decimal places, not 1.23456"),
    (("KVR", "--tokens", "-1"), {"tokens_per_month": -1},
     "tokens per month must be between 0 and 10,000,000,000,000, not -1"),
    (("K" * 101, "--eur", "1"), {"eur_per_month": 1}, "department names have 1 to 100 characters"),
])
def test_invalid_budgets_are_refused_with_the_same_message_and_not_audited(
        runtime: Runtime, client: TestClient, tmp_path: Path, cli_args: tuple[str, ...], body: dict[str, Any],
        message: str) -> None:
    assert cli_error(cli(runtime, tmp_path, "budget", "set", *cli_args)) == message
    answer = client.put(f"/api/v1/budgets/{cli_args[0]}", json=body)
    assert answer.status_code == 400 and answer.json()["detail"] == message, answer.text
    assert answer.json()["type"].endswith("/bad-request")
    assert records(runtime) == []


def test_every_admin_command_writes_exactly_one_audit_record(runtime: Runtime, tmp_path: Path) -> None:
    steps = [
        (("budget", "set", "SOZ", "--tokens", "10"), "budget.set",
         {"department": "SOZ", "eur_per_month": "None", "tokens_per_month": 10}),
        (("budget", "remove", "SOZ"), "budget.remove", {"department": "SOZ"}),
        (("apikey", "create", "fachverfahren", "--department", "KVR", "--role", "service"), "apikey.create",
         {"name": "fachverfahren", "department": "KVR", "roles": ["service"]}),
        (("apikey", "revoke", "fachverfahren"), "apikey.revoke", {"name": "fachverfahren"}),
        (("audit", "purge"), "audit.purge", {"deleted": 0}),
    ]
    for n, (args, action, details) in enumerate(steps, start=1):
        result = cli(runtime, tmp_path, *args)
        assert result.returncode == 0, result.stderr
        written = records(runtime)
        assert len(written) == n, (args, written)
        assert written[-1]["action"] == action and written[-1]["actor"] == "cli"
        assert written[-1]["details"].items() >= details.items(), written[-1]
    created = records(runtime)[2]["details"]
    key = next(line for line in cli(runtime, tmp_path, "apikey", "list").stdout.splitlines() if "fachverfahren" in line)
    assert created["prefix"] in key  # the public prefix, never the secret
    # refused changes write nothing
    assert cli_error(cli(runtime, tmp_path, "budget", "remove", "Niemand")) == "department 'Niemand' has no budget"
    assert cli_error(cli(runtime, tmp_path, "apikey", "revoke", "gibtsnicht")) == "no API key named 'gibtsnicht'"
    assert len(records(runtime)) == len(steps)


def test_the_service_checks_the_role_and_audits_nothing_it_refuses(runtime: Runtime) -> None:
    clerk = Principal(id="u1", kind="user", department="KVR", roles=frozenset({"service"}))
    boss = Principal(id="u2", kind="user", department="Direktorium", roles=frozenset({"admin"}))
    key = runtime.gateway.audit_key
    with runtime.db.session() as s:
        with pytest.raises(Forbidden, match="admin"):
            admin.set_budget(s, clerk, "KVR", Decimal(1), None, audit_key=key)
        with pytest.raises(Forbidden):
            admin.create_api_key(s, clerk, "x", "KVR", [], audit_key=key)
        with pytest.raises(Forbidden):
            admin.purge_audit_log(s, clerk, runtime.gateway.audit, 365, audit_key=key)
        with pytest.raises(BadRequest, match="retention below 183 days"):
            admin.purge_audit_log(s, boss, runtime.gateway.audit, 30, audit_key=key)
        with pytest.raises(BadRequest, match="role names"):
            admin.create_api_key(s, boss, "x", "KVR", [" "], audit_key=key)
        with pytest.raises(NotFound):
            admin.remove_budget(s, boss, "KVR", audit_key=key)
        state = admin.set_budget(s, boss, "KVR", None, 0, audit_key=key)
        assert (state.eur_limit, state.tokens_limit) == (None, 0)
        secret = admin.create_api_key(s, boss, "verfahren", "KVR", ["service", "service"], audit_key=key)
    [budget, created] = records(runtime)
    assert budget["actor"] == "u2" and budget["department"] == "Direktorium"
    assert created["details"] == {"name": "verfahren", "department": "KVR", "roles": ["service"],
                                  "prefix": secret.split("_")[1]}
    assert secret not in str(records(runtime))
    with runtime.db.session() as s:
        assert audit.verify_all(s, runtime.gateway.audit).ok
