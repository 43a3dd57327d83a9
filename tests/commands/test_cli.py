"""The `rathaus` command as a user runs it: tables, CSV, and one readable line for every error."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from cli_runner import Run, cli_runner, one_line_error
from rathaus.core import metering
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime


@pytest.fixture
def cli(make_settings: Callable[..., Settings], tmp_path: Path) -> tuple[Run, Settings]:
    settings = make_settings()
    run = cli_runner(settings, tmp_path, timeout=300)
    return run, settings


def test_config_check_ok(cli) -> None:
    run, _ = cli
    result = run("config", "check")
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout


def test_config_check_names_every_problem(cli, tmp_path: Path) -> None:
    run, _ = cli
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults: {chat: a, embedding: a}\nmodels:\n  - name: a\n    kind: chat\n    provider: openai\n"
                   "    base_url: http://x/v1\n    parameters_b: 0\n    data_classes: []\n    hosting: moon\n"
                   "    location: x\n")
    result = run("config", "check", env={"RATHAUS_MODELS_FILE": str(bad), "RATHAUS_AUDIT_RETENTION_DAYS": "30"})
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("rathaus: ")]
    assert any("below the 183 days" in e for e in errors)
    assert any("model 'a'.parameters_b" in e for e in errors)
    assert any("model 'a'.data_classes" in e for e in errors)
    assert any("model 'a'.hosting" in e for e in errors)


def test_invalid_setting_is_one_line(cli) -> None:
    run, _ = cli
    one_line_error(run("db", "status", env={"RATHAUS_PORT": "achtzig"}), "RATHAUS_PORT")


def test_unknown_command_and_option(cli) -> None:
    run, _ = cli
    one_line_error(run("fly"), "No such command 'fly'")
    one_line_error(run("report", "usage", "--colour", "red"), "No such option")


def test_database_unreachable_at_start(cli) -> None:
    run, _ = cli
    env = {"RATHAUS_DATABASE_URL": "postgresql://rathaus:pw@127.0.0.1:1/rathaus", "RATHAUS_AUTH_MODE": "oidc"}
    result = run("db", "status", env=env)
    one_line_error(result, "database unreachable at postgresql+psycopg://rathaus:***@127.0.0.1:1/rathaus")
    assert "pw" not in result.stderr


def test_usage_report_table_and_csv(cli, tmp_path: Path) -> None:
    run, settings = cli
    with Runtime(settings) as rt, rt.db.session() as s:
        for dept, model, tokens in (("KVR", "local-chat", 100), ("KVR", "cloud-chat", 50), ("SOZ", "local-chat", 7)):
            metering.record(s, request_id="r", department=dept, principal="p", principal_kind="user", use_case="t",
                            model=model, provider="x", operation="chat", data_class="intern", status="ok",
                            prompt_tokens=tokens, completion_tokens=1, energy_wh=0.5, gco2e=0.18, cost_eur=0.01)
    result = run("report", "usage", "--by", "department", "--csv", "out.csv")
    assert result.returncode == 0, result.stderr
    assert "KVR" in result.stdout and "SOZ" in result.stdout
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert {r["department"]: int(r["prompt_tokens"]) for r in rows} == {"KVR": 150, "SOZ": 7}
    result = run("report", "usage", "--by", "model")
    assert result.returncode == 0
    month = [p for p in tmp_path.iterdir() if p.name.startswith("usage-") and p.name.endswith("-by-model.csv")]
    assert len(month) == 1
    one_line_error(run("report", "usage", "--by", "colour"), "--by must be one of")
    one_line_error(run("report", "usage", "--month", "November"), "month must look like 2026-11")


def test_audit_verify_detects_tampering_and_export(cli, tmp_path: Path) -> None:
    run, settings = cli
    assert run("budget", "set", "KVR", "--eur", "100", "--tokens", "50000").returncode == 0
    assert run("budget", "set", "SOZ", "--eur", "20").returncode == 0
    ok = run("audit", "verify")
    assert ok.returncode == 0 and "intact" in ok.stdout and "2 records" in ok.stdout
    exported = run("audit", "export", "--from", "2020-01-01", "--to", "2099-12-31", "-o", "audit.jsonl")
    assert exported.returncode == 0
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [x["action"] for x in lines] == ["budget.set", "budget.set"]
    signed = run("audit", "checkpoint")
    assert signed.returncode == 0 and "checkpoint signed: record 2" in signed.stdout
    assert "up to date" in run("audit", "checkpoint").stdout
    with Runtime(settings) as rt, rt.db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(sa.text("UPDATE audit_log SET details = '{}'::jsonb WHERE seq = 1"))
    bad = run("audit", "verify")
    assert bad.returncode == 1
    assert "record 1 was altered" in bad.stderr and "TAMPERED" in bad.stderr
    one_line_error(run("audit", "export", "--from", "gestern", "--to", "2026-01-01"), "--from must be a date")


def test_budget_commands(cli) -> None:
    run, _ = cli
    assert run("budget", "set", "KVR", "--eur", "12,50").returncode == 0
    shown = run("budget", "show")
    assert "KVR" in shown.stdout and "12.50" in shown.stdout
    one_line_error(run("budget", "set", "KVR", "--eur", "viel"), "--eur must be an amount")
    one_line_error(run("budget", "remove", "Niemand"), "has no budget")


def test_api_key_lifecycle(cli) -> None:
    run, _ = cli
    created = run("apikey", "create", "fachverfahren", "--department", "KVR", "--role", "service")
    assert created.returncode == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("rh_")
    listed = run("apikey", "list")
    assert "fachverfahren" in listed.stdout and key not in listed.stdout
    one_line_error(run("apikey", "create", "fachverfahren", "--department", "KVR"), "exists already")
    assert run("apikey", "revoke", "fachverfahren").returncode == 0
    one_line_error(run("apikey", "revoke", "gibtsnicht"), "no API key named 'gibtsnicht'")


def test_models_list_and_corrupt_model_file(cli, tmp_path: Path) -> None:
    run, _ = cli
    listed = run("models", "list")
    assert listed.returncode == 0 and "local-chat" in listed.stdout and "cloud-chat" in listed.stdout
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").write_bytes(b"GGUF" + b"\0" * 1000)
    result = run("models", "test", "local-chat", env={"RATHAUS_CACHE_DIR": str(cache)})
    assert result.returncode == 1
    assert "model file corrupt" in result.stdout and "1004 bytes" in result.stdout
    (cache / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").unlink()
    result = run("models", "test", "local-chat", env={"RATHAUS_CACHE_DIR": str(cache)})
    assert result.returncode == 1 and "file missing" in result.stdout
    one_line_error(run("models", "test", "nope"), "unknown model 'nope'")


def test_models_test_real_model(cli) -> None:
    run, _ = cli
    result = run("models", "test", "local-chat")
    assert result.returncode == 0 and "ok" in result.stdout


def test_db_status(cli) -> None:
    run, _ = cli
    result = run("db", "status")
    assert result.returncode == 0 and "embedded" in result.stdout and "latest" in result.stdout
