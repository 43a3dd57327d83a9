"""The embedded PostgreSQL: starts, shares, stops cleanly, recovers stale handles; migrations match the models."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rathaus.core.capability import load_tables
from rathaus.core.db import Database, _prune_stale_handles
from rathaus.core.errors import DatabaseUnavailable
from rathaus.core.jobs import owned_by_rathaus
from rathaus.core.settings import Settings
from rathaus.migrations import current_revision, head_revision, is_current
from rathaus.runtime import Runtime


def test_migrations_create_exactly_the_models(runtime: Runtime) -> None:
    with runtime.db.engine.connect() as conn:  # procrastinate's own tables (migration 0012) are not our models
        context = MigrationContext.configure(conn, opts={"include_name": owned_by_rathaus})
        assert compare_metadata(context, load_tables()) == []
    # every head is applied; a capability's branch that depends on the platform's newest revision stands for it
    # among the database's current heads (the inbox branch, inbox_0001 → inbox_0002, depends on 0012_jobs)
    current, heads = (current_revision(runtime.db.engine) or "").split("+"), (head_revision() or "").split("+")
    assert set(current) <= set(heads) and "inbox_0002" in current and is_current(runtime.db.engine)


def test_pgvector_and_german_fulltext_available(runtime: Runtime) -> None:
    with runtime.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
        tsv = conn.scalar(sa.text("SELECT to_tsvector('german', 'Die Häuser der Stadt')::text"))
        assert tsv == "'haus':2 'stadt':4"


def test_unreachable_database_gives_one_clear_line(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url="postgresql://u:secret@127.0.0.1:1/x",  # type: ignore[call-arg]
                        auth_mode="oidc", data_dir=tmp_path)
    db = Database(settings)
    with pytest.raises(DatabaseUnavailable) as info:
        db.check()
    message = info.value.detail
    assert message.startswith("database unreachable at postgresql+psycopg://u:***@127.0.0.1:1/x")
    assert "secret" not in message and "\n" not in message
    db.close()


def test_stale_handles_of_killed_processes_are_pruned(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    pgdata.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid, os.getppid()]))
    assert _prune_stale_handles(pgdata) == [dead.pid]
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == [os.getppid()]


def _postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    return int(pid_file.read_text().splitlines()[0]) if pid_file.exists() else None


def test_server_stops_when_last_process_exits_even_after_a_sigkill(tmp_path: Path) -> None:
    """A process killed with SIGKILL leaves a stale handle; the next start cleans it and stops the server."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        from rathaus.core.settings import Settings
        from rathaus.core.db import Database
        db = Database(Settings(_env_file=None, data_dir={str(tmp_path)!r}))
        db.check()
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        db.close()
    """)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    killed = subprocess.run([sys.executable, "-c", script, "kill"], env=env, timeout=120)
    assert killed.returncode == -9
    pgdata = tmp_path / "pg"
    pid = _postmaster_pid(pgdata)
    assert pid is not None and Path(f"/proc/{pid}").exists(), "server keeps running after the SIGKILL"
    clean = subprocess.run([sys.executable, "-c", script, "stop"], env=env, timeout=120)
    assert clean.returncode == 0
    assert not Path(f"/proc/{pid}").exists() or _postmaster_pid(pgdata) is None
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


def test_sigterm_stops_the_embedded_server(tmp_path: Path, models_file: Path) -> None:
    """`rathaus serve` ended by SIGTERM (systemd, Kubernetes, pkill) stops its embedded PostgreSQL."""
    import signal
    import time

    import httpx

    from conftest import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(tmp_path), "RATHAUS_MODELS_FILE": str(models_file)})
    proc = subprocess.Popen([sys.executable, "-m", "rathaus.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    pid = _postmaster_pid(tmp_path / "pg")
    assert pid is not None and Path(f"/proc/{pid}").exists()
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    time.sleep(0.5)
    assert _postmaster_pid(tmp_path / "pg") is None, "postmaster.pid left behind: server still running"
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_a_killed_embedded_server_is_restarted_under_a_running_rathaus(tmp_path: Path, models_file: Path) -> None:
    """Issue 19: PostgreSQL killed (kill -9) under `rathaus serve` is restarted by its supervisor, with a log line,
    and requests succeed again without restarting rathaus."""
    import signal
    import time

    import httpx

    from conftest import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(tmp_path), "RATHAUS_MODELS_FILE": str(models_file)})
    proc = subprocess.Popen([sys.executable, "-m", "rathaus.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def ready() -> int:
        try:
            return httpx.get(url, timeout=5).status_code
        except httpx.HTTPError:
            return 0

    try:
        deadline = time.time() + 120
        while ready() != 200 and time.time() < deadline:
            time.sleep(0.3)
        first = _postmaster_pid(tmp_path / "pg")
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.time() + 120
        while time.time() < deadline:
            second = _postmaster_pid(tmp_path / "pg")
            if second not in (None, first) and ready() == 200:
                break
            time.sleep(0.5)
        assert second not in (None, first), "the embedded server was not restarted"
        assert ready() == 200  # the same rathaus process serves again
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "embedded PostgreSQL" in stderr and "restarted" in stderr, stderr[-2000:]
