"""Background jobs in PostgreSQL (rathaus.core.jobs) with real workers: threads, and processes that get killed.

The test jobs (tests/jobs_for_tests.py) note every run in a file, so a test sees runs of killed workers too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from conftest import wait_for
from jobs_for_tests import TEST_JOBS, notes
from oidc import Issuer
from rathaus.app import create_app
from rathaus.core import capability
from rathaus.core.jobs import EmbeddedWorker, JobQueue
from rathaus.core.settings import Settings
from rathaus.migrations import current_revision, upgrade
from rathaus.runtime import Runtime

TESTS = Path(__file__).resolve().parents[1]  # tests/: the job worker and test jobs
SRC = TESTS.parent / "src"
PROBLEM = "https://rathaus.example/problems/"
FAST = {"jobs_poll_seconds": 0.1, "jobs_retry_seconds": 0.4}


@pytest.fixture
def jobs_runtime(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    rt = Runtime(make_settings(**FAST))
    rt.jobs.declare(*TEST_JOBS)
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def admin_api(jobs_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(jobs_runtime)) as c:  # local mode: the caller is an administrator
        yield c


def finished(rt: Runtime, job_id: int, timeout: float = 30) -> Any:
    return wait_for(lambda: (job := rt.jobs.get(job_id)).finished and job, timeout, f"end of job {job_id}")


# --- a job runs on a worker, its progress over the API ------------------------------------------------------------

def test_a_deferred_job_runs_on_a_worker_with_progress_visible_over_the_api(jobs_runtime: Runtime,
                                                                           admin_api: TestClient,
                                                                           tmp_path: Path) -> None:
    marker = tmp_path / "slow.jsonl"
    job_id = jobs_runtime.jobs.defer("test.slow", marker=str(marker), steps=4, pause=0.3)
    queued = admin_api.get(f"/api/v1/jobs/{job_id}").json()
    assert (queued["name"], queued["status"], queued["attempts"], queued["done"]) == ("test.slow", "todo", 0, None)
    assert queued["args"] == {"marker": str(marker), "steps": 4, "pause": 0.3} and queued["can_cancel"]
    with EmbeddedWorker(jobs_runtime, periodic=False):
        running = wait_for(lambda: (j := admin_api.get(f"/api/v1/jobs/{job_id}").json())["status"] == "doing"
                           and j["done"] is not None and j["done"] >= 1 and j, what="progress over the API")
        assert running["total"] == 4 and running["message"].startswith("Schritt ") and running["started_at"]
        done = finished(jobs_runtime, job_id)
    assert done.status == "succeeded" and done.error is None and done.attempts == 1
    assert done.result == {"steps": 4, "pid": os.getpid()} and (done.done, done.total, done.message) == (4, 4, "fertig")
    assert done.queued_at <= done.started_at <= done.finished_at
    listed = admin_api.get("/api/v1/jobs", params={"name": "test.slow"}).json()
    assert listed["scope"] == "all" and [j["id"] for j in listed["jobs"]] == [job_id]
    assert listed["jobs"][0]["status"] == "succeeded" and not listed["jobs"][0]["can_cancel"]
    assert [n["event"] for n in notes(marker)] == ["start", "done"]


# --- cancelling -----------------------------------------------------------------------------------------------------

def test_cancel_a_queued_and_a_running_job(jobs_runtime: Runtime, admin_api: TestClient, tmp_path: Path) -> None:
    queued_marker, running_marker = tmp_path / "queued.jsonl", tmp_path / "running.jsonl"
    queued = jobs_runtime.jobs.defer("test.slow", marker=str(queued_marker))
    cancelled = admin_api.post(f"/api/v1/jobs/{queued}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = admin_api.post(f"/api/v1/jobs/{queued}/cancel")
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == PROBLEM + "conflict" and "already ended (cancelled)" in again.json()["detail"]

    running = jobs_runtime.jobs.defer("test.slow", marker=str(running_marker), steps=200, pause=0.05)
    with EmbeddedWorker(jobs_runtime, periodic=False):
        wait_for(lambda: jobs_runtime.jobs.get(running).status == "doing", what="the long job running")
        asked = admin_api.post(f"/api/v1/jobs/{running}/cancel").json()
        assert asked["cancel_requested"] and asked["status"] == "doing"
        stopped = finished(jobs_runtime, running)
        time.sleep(0.3)  # a cancelled job that was still queued would have been picked up by now
    assert stopped.status == "aborted" and stopped.error == "abgebrochen / cancelled"
    assert stopped.done is not None and stopped.done < 200
    assert [n["event"] for n in notes(running_marker)] == ["start"]  # stopped at a step, never finished
    assert not queued_marker.exists()  # the cancelled job never ran
    assert jobs_runtime.jobs.get(queued).status == "cancelled"


# --- retries -------------------------------------------------------------------------------------------------------

def test_transient_failures_are_retried_with_growing_backoff_others_fail_at_once(jobs_runtime: Runtime,
                                                                                 tmp_path: Path) -> None:
    flaky, broken = tmp_path / "flaky.jsonl", tmp_path / "broken.jsonl"
    flaky_id = jobs_runtime.jobs.defer("test.flaky", marker=str(flaky), failures=2)
    broken_id = jobs_runtime.jobs.defer("test.broken", marker=str(broken))
    with EmbeddedWorker(jobs_runtime, periodic=False):
        ok = finished(jobs_runtime, flaky_id)
        failed = finished(jobs_runtime, broken_id)
    assert ok.status == "succeeded" and ok.result == 3 and ok.attempts == 3
    times = [n["at"] for n in notes(flaky)]
    assert len(times) == 3
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    assert first_wait >= 0.4 * 0.9 and second_wait >= 0.8 * 0.9, (first_wait, second_wait)  # 0.4 s, then 0.8 s
    assert second_wait > first_wait
    assert failed.status == "failed" and failed.attempts == 1 and failed.error == "ValueError: kaputt"
    assert len(notes(broken)) == 1  # a programming error is not retried


def test_a_unique_job_waits_once_and_unknown_jobs_or_arguments_are_refused(jobs_runtime: Runtime) -> None:
    from rathaus.core.errors import BadRequest, Conflict, NotFound

    first = jobs_runtime.jobs.defer("library.train")
    with pytest.raises(Conflict, match=f"library.train is already waiting \\(job {first}\\)"):
        jobs_runtime.jobs.defer("library.train")
    with pytest.raises(NotFound, match="no job named 'nope'"):
        jobs_runtime.jobs.defer("nope")
    with pytest.raises(BadRequest, match="takes no argument colour"):
        jobs_runtime.jobs.defer("sessions.purge", colour="blau")
    with pytest.raises(BadRequest, match="JSON"):
        jobs_runtime.jobs.defer("test.slow", marker=object())
    assert [j.id for j in jobs_runtime.jobs.list(name="library.train")] == [first]
    with pytest.raises(ValidationError, match="'every hour' is neither a cron expression"):
        Settings(_env_file=None, jobs_schedule={"knowledge.refresh": "every hour"})  # type: ignore[call-arg]
    off = Settings(_env_file=None, jobs_schedule={"knowledge.refresh": "off"})  # type: ignore[call-arg]
    assert dict((n, c) for n, c, _ in JobQueue(jobs_runtime.db, off, capability.jobs()).schedules()) == {
        **{j.name: j.every for j in capability.jobs()}, "knowledge.refresh": None, "jobs.retry_stalled": "* * * * *"}


# --- the API's refusals --------------------------------------------------------------------------------------------

def bearer(issuer: Issuer, sub: str, department: str, roles: list[str]) -> dict[str, str]:
    return {"Authorization": "Bearer " + issuer.token(sub=sub, department=department, roles=roles)}


def test_jobs_api_refusals_are_problems(make_settings: Callable[..., Settings], issuer: Issuer) -> None:
    from rathaus.core.auth import Principal

    rt = Runtime(make_settings(**issuer.settings()))
    try:
        anna = Principal(id="anna", kind="user", department="KVR", roles=frozenset({"kb-editor"}))
        anna_job = rt.jobs.defer("library.train", requested_by=anna)
        system_job = rt.jobs.defer("sessions.purge")
        with TestClient(create_app(rt)) as api:
            admin = bearer(issuer, "root", "IT", ["admin"])
            ben = bearer(issuer, "ben", "KVR", [])  # anna's department, not anna
            other = bearer(issuer, "cora", "Kulturreferat", [])

            unknown = api.get("/api/v1/jobs/999999", headers=admin)
            assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
            assert unknown.json()["type"] == PROBLEM + "not-found" and unknown.json()["detail"] == "no job 999999"
            assert api.post("/api/v1/jobs/999999/cancel", headers=admin).status_code == 404
            assert api.get("/api/v1/jobs/abc", headers=admin).status_code == 422
            assert api.get("/api/v1/jobs", headers={}).status_code == 401

            # the own department's jobs are visible, the platform's are not (404, as unknown ones)
            mine = api.get("/api/v1/jobs", headers=ben).json()
            assert mine["scope"] == "department" and [j["id"] for j in mine["jobs"]] == [anna_job]
            assert api.get(f"/api/v1/jobs/{system_job}", headers=ben).status_code == 404
            assert api.get("/api/v1/jobs", headers=other).json()["jobs"] == []
            assert api.get(f"/api/v1/jobs/{anna_job}", headers=other).status_code == 404
            # seeing is not cancelling: only an administrator or the one who asked
            refused = api.post(f"/api/v1/jobs/{anna_job}/cancel", headers=ben)
            assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == PROBLEM + "forbidden"
            assert refused.json()["detail"] == "only an administrator or the one who started the job may cancel it"
            assert rt.jobs.get(anna_job).status == "todo"
            anna_headers = bearer(issuer, "anna", "KVR", ["kb-editor"])
            assert api.post(f"/api/v1/jobs/{anna_job}/cancel", headers=anna_headers).json()["status"] == "cancelled"
            everything = api.get("/api/v1/jobs", headers=admin).json()
            assert {j["id"] for j in everything["jobs"]} == {anna_job, system_job}
            assert api.post(f"/api/v1/jobs/{system_job}/cancel", headers=admin).json()["status"] == "cancelled"
            assert api.get("/api/v1/jobs", params={"status": "nope"}, headers=admin).status_code == 422
    finally:
        rt.close()


# --- worker processes: kill -9, and periodic jobs with two workers ----------------------------------------------------

def worker_env(settings: Settings, **extra: Any) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}", "OMP_NUM_THREADS": "1",
           "RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
           "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
           "RATHAUS_JOBS_POLL_SECONDS": "0.2", "RATHAUS_WORKER_HEARTBEAT_SECONDS": "0.5",
           "RATHAUS_WORKER_STALLED_SECONDS": "2"}
    schedule = {job.name: "off" for job in capability.jobs() if job.every}  # only what the test is about
    schedule.update(extra.pop("schedule", {}))
    env["RATHAUS_JOBS_SCHEDULE"] = json.dumps(schedule)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(env: dict[str, str], name: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}.log").open("w")
        proc = subprocess.Popen([sys.executable, str(TESTS / "job_worker.py"), name], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
    for proc in started:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def registered_workers(rt: Runtime) -> int:
    with rt.db.engine.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM procrastinate_workers"))


def test_a_job_of_a_killed_worker_completes_on_another_worker(jobs_runtime: Runtime, tmp_path: Path,
                                                              workers: Callable[..., subprocess.Popen]) -> None:
    env = worker_env(jobs_runtime.settings, schedule={"jobs.retry_stalled": "* * * * * */1"})
    marker = tmp_path / "slow.jsonl"
    job_id = jobs_runtime.jobs.defer("test.slow", marker=str(marker), steps=12, pause=0.25)
    first = workers(env, "first")
    wait_for(lambda: (j := jobs_runtime.jobs.get(job_id)).status == "doing" and (j.done or 0) >= 2, 60,
             "the job half-way on the first worker")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    assert jobs_runtime.jobs.get(job_id).status == "doing"  # nobody told the database
    second = workers(env, "second")
    done = finished(jobs_runtime, job_id, timeout=90)
    assert done.status == "succeeded" and done.result == {"steps": 12, "pid": second.pid}
    assert done.attempts == 2  # the killed run counts as one
    runs = notes(marker)
    assert [(n["pid"], n["event"]) for n in runs] == [(first.pid, "start"), (second.pid, "start"),
                                                      (second.pid, "done")]
    retried = jobs_runtime.jobs.list(name="jobs.retry_stalled", status="succeeded")
    assert any(r.result == "1 queued again" for r in retried)


def test_a_periodic_job_runs_once_per_tick_however_many_workers_run(jobs_runtime: Runtime,
                                                                    workers: Callable[..., subprocess.Popen]) -> None:
    env = worker_env(jobs_runtime.settings, schedule={"test.tick": "* * * * * */1"})
    procs = [workers(env, "one"), workers(env, "two")]
    wait_for(lambda: registered_workers(jobs_runtime) == 2, 60, "two workers registered")
    wait_for(lambda: len(jobs_runtime.jobs.list(name="test.tick", status="succeeded")) >= 5, 60, "five ticks run")
    assert all(p.poll() is None for p in procs) and registered_workers(jobs_runtime) == 2
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        assert proc.wait(30) == 0
    ticks = jobs_runtime.jobs.list(name="test.tick", limit=500)
    per_tick: dict[int, int] = {}
    for job in ticks:  # every tick (the job's timestamp argument) queued once, whichever worker was first
        per_tick[job.args["timestamp"]] = per_tick.get(job.args["timestamp"], 0) + 1
    assert len(per_tick) >= 5 and set(per_tick.values()) == {1}, per_tick
    ran = [job for job in ticks if job.status == "succeeded"]
    assert len(ran) >= 5 and all(job.result["tick"] in per_tick for job in ran)
    assert {job.result["pid"] for job in ran} <= {p.pid for p in procs}
    assert registered_workers(jobs_runtime) == 0  # both said goodbye


# --- the command line ----------------------------------------------------------------------------------------------

def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = worker_env(settings)
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "rathaus.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cli_runs_in_the_foreground_queues_lists_and_works_in_bursts(jobs_runtime: Runtime) -> None:
    settings = jobs_runtime.settings
    here = cli(settings, "jobs", "run", "sessions.purge")
    assert here.returncode == 0 and here.stdout.strip() == "0", here.stderr
    queued = cli(settings, "jobs", "run", "audit.checkpoint", "--defer")
    assert queued.returncode == 0 and "queued (audit.checkpoint)" in queued.stdout, queued.stderr
    job_id = int(queued.stdout.split()[1])
    assert jobs_runtime.jobs.get(job_id).requested_by == "cli"
    burst = cli(settings, "worker", "--burst", "--no-periodic")
    assert burst.returncode == 0, burst.stderr
    done = jobs_runtime.jobs.get(job_id)
    assert done.status == "succeeded" and done.result.startswith("signed ")
    listed = cli(settings, "jobs", "list")
    assert listed.returncode == 0 and "audit.checkpoint" in listed.stdout and "succeeded" in listed.stdout
    unknown = cli(settings, "jobs", "run", "nope")
    assert unknown.returncode == 1 and unknown.stderr.startswith("rathaus: no job named 'nope'; known: ")
    schedule = cli(settings, "jobs", "schedule")
    assert schedule.returncode == 0
    assert "knowledge.refresh" in schedule.stdout and "jobs.retry_stalled" in schedule.stdout


# --- the schema ----------------------------------------------------------------------------------------------------

def test_the_queue_schema_comes_and_goes_with_its_migration(runtime: Runtime) -> None:
    from alembic import command

    from rathaus.migrations import _config

    def tables() -> set[str]:
        with runtime.db.engine.connect() as conn:
            return set(conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))

    assert {"procrastinate_jobs", "procrastinate_workers", "job_progress"} <= tables()
    cfg = _config()
    with runtime.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011_collection_names")
    assert not {t for t in tables() if t.startswith("procrastinate") or t == "job_progress"}
    with runtime.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%'")) == 0
    assert "inbox_messages" not in tables()  # the inbox's branch depends on the queue: it went down first
    upgrade(runtime.db.engine)
    # 0012_jobs and 0013_chunk_context are below them (the governance branch depends on 0013)
    assert current_revision(runtime.db.engine) == "checks_0001+governance_0002+inbox_0002+literacy_0001"
    assert {"procrastinate_jobs", "job_progress", "inbox_messages"} <= tables()
    assert runtime.jobs.defer("sessions.purge") >= 1


# --- the admin page ------------------------------------------------------------------------------------------------

def test_the_admin_page_lists_jobs_with_a_cancel_button(jobs_runtime: Runtime, admin_api: TestClient,
                                                        tmp_path: Path) -> None:
    waiting = jobs_runtime.jobs.defer("test.slow", marker=str(tmp_path / "w.jsonl"))
    failed = jobs_runtime.jobs.defer("test.broken", marker=str(tmp_path / "b.jsonl"))
    jobs_runtime.jobs.cancel(waiting)
    with EmbeddedWorker(jobs_runtime, periodic=False):
        finished(jobs_runtime, failed)
    queued = jobs_runtime.jobs.defer("test.slow", marker=str(tmp_path / "q.jsonl"))
    page = admin_api.get("/admin")
    assert page.status_code == 200
    html = page.text
    assert '<table id="jobs">' in html and "Hintergrundaufträge" in html
    row = html[html.index(f'<tr data-id="{queued}">'):]
    row = row[:row.index("</tr>")]
    assert "test.slow" in row and "wartet" in row and 'class="danger small cancel-job"' in row
    failed_row = html[html.index(f'<tr data-id="{failed}">'):]
    failed_row = failed_row[:failed_row.index("</tr>")]
    assert "abgebrochen" in html[html.index(f'<tr data-id="{waiting}">'):]
    assert "fehlgeschlagen" in failed_row and "ValueError: kaputt" in failed_row and "cancel-job" not in failed_row
    assert "<script>" not in html  # the page's code is /static/admin.js (the CSP forbids inline scripts)
    english = admin_api.get("/admin", params={"lang": "en"}).text
    assert "Background jobs" in english and ">Cancel</button>" in english


def test_workers_connect_to_the_embedded_socket_and_to_external_urls(runtime: Runtime) -> None:
    from psycopg.conninfo import conninfo_to_dict

    from rathaus.core.jobs.worker import conninfo

    external = conninfo("postgresql+psycopg://rathaus:p%40ss%20w@db.intern:5433/rathaus?sslmode=require")
    assert conninfo_to_dict(external) == {"host": "db.intern", "port": "5433", "dbname": "rathaus",
                                          "user": "rathaus", "password": "p@ss w", "sslmode": "require"}
    embedded = conninfo_to_dict(conninfo(runtime.db.url))  # postgresql+psycopg://postgres:@/db?host=/socket/dir
    assert embedded["host"].startswith("/") and embedded["dbname"] == runtime.settings.database_name
    assert "password" not in embedded
