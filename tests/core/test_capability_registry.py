"""The one door (issue 14): every capability enters through the registry, and a capability declared outside
rathaus – tests/tiny_capability – gets its CLI command, API route, page link, table and job with no edit in
rathaus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from rathaus.app import create_app
from rathaus.core import capability
from rathaus.core.errors import ConfigError
from rathaus.core.schema import Base
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

TESTS = Path(__file__).resolve().parents[1]  # tests/: tiny_capability and the shared helpers
TINY = "tiny_capability:CAPABILITY"


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Iterator[capability.Capability]:
    monkeypatch.setenv(capability.ENV_VARIABLE, TINY)
    capability.reload()
    try:
        yield capability.get("tiny")
    finally:
        monkeypatch.delenv(capability.ENV_VARIABLE)
        capability.reload()
        table = Base.metadata.tables.get("tiny_ticks")
        if table is not None:  # the rest of the suite compares the metadata with databases without it
            Base.metadata.remove(table)


def test_the_built_in_capabilities_enter_through_the_registry() -> None:
    names = [c.name for c in capability.capabilities()]
    assert names == [
        "platform", "assistants", "knowledge", "safety", "governance", "traffic", "library", "inbox", "checks",
        "literacy",
    ]
    commands = {cmd.name for c in capability.capabilities() for cmd in c.commands}
    assert {"kb", "traffic", "library", "eval bias", "eval retrieval", "ask", "audit", "literacy"} <= commands
    for cap in capability.capabilities():  # every declared part can be loaded
        for target in (*(c.target for c in cap.commands), *cap.routers, *cap.tables):
            assert capability.load(target) is not None


def test_the_tiny_capability_shows_up_everywhere(tiny: capability.Capability,
                                                 make_settings: Callable[..., Settings]) -> None:
    assert [c.name for c in capability.capabilities()][-1] == "tiny"
    rt = Runtime(make_settings())  # migrations: the platform's chain and the tiny branch
    try:
        with rt.db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT to_regclass('tiny_ticks') IS NOT NULL"))
        with TestClient(create_app(rt)) as client:
            assert client.get("/api/v1/tiny/hello").json() == {"hello": "Rathaus"}  # its settings' default
            home = client.get("/").text
            assert '<a href="/tiny" >Winzig</a>' in home.replace("  ", " ") or 'href="/tiny"' in home
            assert "Winzig" in home
            assert 'href="/tiny"' in client.get("/?lang=en").text and "Tiny" in client.get("/?lang=en").text
            assert "<h1>Winzig</h1>" in client.get("/tiny").text
            ready = client.get("/readyz").json()
            assert ready["status"] == "ready", ready  # the tiny branch counts as part of the schema
        job = capability.find_job("tiny.tick")
        assert job.every == "* * * * *"
        assert capability.load(job.run)(rt) == "ticked"
        with rt.db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM tiny_ticks")) == 1
    finally:
        rt.close()
    from rathaus.web.i18n import texts

    assert texts("de")["tiny_greeting"] == "Servus" and texts("en")["tiny_greeting"] == "Hello"


def test_the_tiny_settings_section(tiny: capability.Capability, make_settings: Callable[..., Settings],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A capability's settings enter through its declaration: read from RATHAUS_… like the platform's, given per
    field in tests, checked at start, and reported by `rathaus config check` under the variable's name."""
    from tiny_capability import TinySettings

    assert TinySettings in capability.settings_sections()
    rt = Runtime(make_settings(tiny_greeting_name="München"))
    try:
        with TestClient(create_app(rt)) as client:
            assert client.get("/api/v1/tiny/hello").json() == {"hello": "München"}
        assert rt.settings.section(TinySettings) is rt.settings.section(TinySettings)  # read once
    finally:
        rt.close()
    monkeypatch.setenv("RATHAUS_TINY_GREETING_NAME", "Servus")
    assert make_settings().section(TinySettings).tiny_greeting_name == "Servus"
    with pytest.raises(TypeError, match="unknown settings: tiny_greting_name"):
        Runtime(make_settings(tiny_greting_name="typo"))
    monkeypatch.setenv("RATHAUS_TINY_GREETING_NAME", "x" * 41)
    with pytest.raises(ValueError, match="tiny_greeting_name"):
        Runtime(make_settings())
    from rathaus.config_check import run_check

    assert any(p.startswith("settings: RATHAUS_TINY_GREETING_NAME:") for p in run_check().problems)


def test_the_tiny_cli_command(tiny: capability.Capability) -> None:
    env = {**os.environ, capability.ENV_VARIABLE: TINY,
           "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    done = subprocess.run([sys.executable, "-m", "rathaus.cli", "tiny", "hello", "--name", "München"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Servus, München!"
    listed = subprocess.run([sys.executable, "-m", "rathaus.cli", "--help"], capture_output=True, text=True,
                            env={**env, "COLUMNS": "200"}, timeout=120)
    assert "tiny" in listed.stdout and "Winzig / tiny." in listed.stdout


def test_a_broken_declaration_is_one_readable_line(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, capability.ENV_VARIABLE: "no_such_module:CAPABILITY"}
    done = subprocess.run([sys.executable, "-m", "rathaus.cli", "--help"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("rathaus: capability part 'no_such_module:CAPABILITY' cannot be loaded")
    assert "Traceback" not in done.stderr
    monkeypatch.setenv(capability.ENV_VARIABLE, "rathaus.core.capability:BUILTIN")
    with pytest.raises(ConfigError, match="is not a rathaus Capability"):
        capability.reload()
    monkeypatch.delenv(capability.ENV_VARIABLE)
    capability.reload()


def test_the_tiny_periodic_job_runs_once_per_tick_with_two_workers(tiny: capability.Capability,
                                                                   make_settings: Callable[..., Settings],
                                                                   tmp_path: Path) -> None:
    """Two `rathaus worker` processes, the tiny job every second: each tick runs once, not twice."""
    settings = make_settings()
    Runtime(settings).close()  # the database with the tiny branch
    schedule = {job.name: "off" for job in capability.jobs() if job.every}
    schedule["tiny.tick"] = "* * * * * */1"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]), "OMP_NUM_THREADS": "1",
           capability.ENV_VARIABLE: TINY, "RATHAUS_DATA_DIR": str(settings.data_dir),
           "RATHAUS_DATABASE_NAME": settings.database_name, "RATHAUS_MODELS_FILE": str(settings.models_file),
           "RATHAUS_CACHE_DIR": str(settings.cache_dir), "RATHAUS_JOBS_POLL_SECONDS": "0.2",
           "RATHAUS_JOBS_SCHEDULE": json.dumps(schedule)}
    logs = [(tmp_path / f"worker-{i}.log").open("w") for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-m", "rathaus.cli", "worker"], env=env, stdout=log,
                              stderr=subprocess.STDOUT) for log in logs]
    rt = Runtime(settings)
    try:
        def ticks() -> list[int]:
            with rt.db.engine.connect() as conn:
                return list(conn.scalars(sa.text("SELECT tick FROM tiny_ticks ORDER BY id")))

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(ticks()) < 5:
            time.sleep(0.3)
        assert all(p.poll() is None for p in procs), [p.returncode for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        seen = ticks()
        rt.close()
    assert len(seen) >= 5, (tmp_path / "worker-0.log").read_text()[-2000:]
    assert len(seen) == len(set(seen)) and None not in seen  # every tick once, never twice
