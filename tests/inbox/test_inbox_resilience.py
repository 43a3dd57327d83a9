"""At least once, never twice: intake survives kill -9 of the importing process and of a job worker, a model
that is down, and bad input on the command line – nothing is lost, nothing is processed or stored twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import free_port, wait_for, wait_for_a_fresh_rate_window
from rathaus.core import capability
from rathaus.core.settings import Settings
from rathaus.inbox import processing
from rathaus.inbox.intake import store_message
from rathaus.inbox.message import IncomingMessage
from rathaus.runtime import Runtime

TESTS = Path(__file__).resolve().parents[1]
SRC = TESTS.parent / "src"


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}", "OMP_NUM_THREADS": "1", "COLUMNS": "200",
           "RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
           "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
           "RATHAUS_JOBS_POLL_SECONDS": "0.2", "RATHAUS_WORKER_HEARTBEAT_SECONDS": "0.5",
           "RATHAUS_WORKER_STALLED_SECONDS": "2",
           "RATHAUS_JOBS_SCHEDULE": json.dumps({j.name: "off" for j in capability.jobs() if j.every}
                                               | {"jobs.retry_stalled": "* * * * * */1"})}
    env.update(extra)
    return env


def write_mails(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        m = EmailMessage()
        m["From"] = f"Person {i} <person{i}@example.org>"
        m["To"] = "buergerbuero@musterstadt.example"
        m["Subject"] = f"Anfrage {i}: Termin zur Ummeldung"
        m["Date"] = format_datetime(dt.datetime(2026, 12, 1, 9, i % 60, tzinfo=dt.UTC))
        m["Message-ID"] = f"<kill-test-{i}@example.org>"
        m.set_content(f"Guten Tag, ich bin umgezogen (Vorgang {i}) und brauche einen Termin zur Ummeldung. "
                      + "Vielen Dank. " * 20)
        path = folder / f"{i:04d}.eml"
        path.write_bytes(bytes(m))
        paths.append(path)
    return paths


def count(rt: Runtime, query: str) -> Any:
    with rt.db.engine.connect() as conn:
        return conn.scalar(sa.text(query))


def cli(env: dict[str, str], *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "rathaus.cli", "inbox", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_kill_9_during_import_and_processing_loses_nothing_and_does_nothing_twice(
        make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    rt = Runtime(settings)
    try:
        mails = write_mails(tmp_path / "mails", 80)
        env = env_for(settings)
        importer = cli(env, "import", *map(str, mails))
        wait_for(lambda: count(rt, "SELECT count(*) FROM inbox_messages") >= 10, 120, "ten mails stored")
        os.kill(importer.pid, signal.SIGKILL)
        importer.wait(10)
        stored = count(rt, "SELECT count(*) FROM inbox_messages")
        assert 10 <= stored < 80, stored  # killed half-way
        again = cli(env, "import", *map(str, mails))
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        assert f"{80 - stored} neu / new, {stored} schon vorhanden / already stored" in out
        assert count(rt, "SELECT count(*) FROM inbox_messages") == 80
        assert count(rt, "SELECT count(DISTINCT external_id) FROM inbox_messages") == 80
        # every stored message has its processing job queued in the same transaction
        assert count(rt, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'inbox.process'") == 80

        first = subprocess.Popen([sys.executable, str(TESTS / "job_worker.py"), "first"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: count(rt, "SELECT count(*) FROM inbox_messages WHERE processed_at IS NOT NULL") >= 5,
                 180, "five messages processed by the first worker")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        second = subprocess.Popen([sys.executable, str(TESTS / "job_worker.py"), "second"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: count(rt, "SELECT count(*) FROM inbox_messages WHERE status <> 'received'") == 80,
                     300, "every message processed after the kill")
        finally:
            second.terminate()
            second.wait(30)
        assert count(rt, "SELECT count(*) FROM audit_log WHERE action = 'inbox.routed'") == 80  # once each
        assert count(rt, "SELECT count(*) FROM audit_log WHERE action = 'inbox.received'") == 80
        assert count(rt, "SELECT count(*) FROM inbox_messages WHERE department = 'buergerbuero'") == 80
    finally:
        rt.close()


def test_a_model_that_is_down_leaves_the_message_waiting_until_it_is_back(
        make_settings: Callable[..., Settings], tmp_path: Path, models_file: Path) -> None:
    down = tmp_path / "models-down.yaml"
    text = models_file.read_text().replace("  embedding: local-embed", "  embedding: remote-embed")
    text += (f"  - name: remote-embed\n    kind: embedding\n    provider: openai\n"
             f"    base_url: http://127.0.0.1:{free_port()}/v1\n    remote_model: e5\n    dimensions: 384\n"
             "    parameters_b: 0.1\n    data_classes: [oeffentlich, intern, vertraulich, personenbezogen]\n"
             "    hosting: on-premises\n    location: nowhere (down)\n")
    down.write_text(text)
    broken = Runtime(make_settings(models_file=down))
    try:
        stored = store_message(broken, IncomingMessage(channel="api", external_id="down-1", subject="Ummeldung",
                                                       body="Ich brauche einen Termin zur Ummeldung."))
        with pytest.raises(Exception):  # noqa: B017 – whatever the client raises for a refused connection
            processing.process(broken, stored.id)
        with broken.db.engine.connect() as conn:
            status, error = conn.execute(sa.text("SELECT status, last_error FROM inbox_messages WHERE id = :i"),
                                         {"i": stored.id}).one()
        assert status == "received" and error  # still waiting, with the reason
        assert processing.pending(broken, older_than_seconds=0) == [stored.id]
        working = Runtime(make_settings(database_name=broken.settings.database_name))
        try:
            done = processing.process(working, stored.id)
            assert done["status"] in ("open", "triage")
            assert processing.process(working, stored.id)["skipped"]  # never twice
            assert processing.pending(working, older_than_seconds=0) == []
        finally:
            working.close()
    finally:
        broken.close()


@pytest.mark.parametrize(("args", "message"), [
    (["import", "/nonexistent/x.eml"], "cannot read"),
    (["train", "/nonexistent/past.csv"], "no such file"),
    (["eval", "/nonexistent/past.csv"], "no such file"),
    (["classify", "Wie melde ich mich um?"], "no routing model yet"),
    (["list", "--status", "verloren"], "unknown status 'verloren'"),
])
def test_bad_input_on_the_command_line_is_one_readable_line(make_settings: Callable[..., Settings],
                                                            args: list[str], message: str,
                                                            tmp_path: Path) -> None:
    settings = make_settings(inbox_models_dir=tmp_path / "models")
    Runtime(settings).close()
    done = cli(env_for(settings, RATHAUS_INBOX_MODELS_DIR=str(tmp_path / "models")), *args)
    _, err = done.communicate(timeout=120)
    assert done.returncode != 0
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err


def test_a_file_that_is_not_a_mail_is_refused_and_nothing_is_stored(make_settings: Callable[..., Settings],
                                                                   tmp_path: Path) -> None:
    settings = make_settings()
    rt = Runtime(settings)
    try:
        junk = tmp_path / "bild.eml"
        junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
        done = cli(env_for(settings), "import", str(junk))
        _, err = done.communicate(timeout=120)
        assert done.returncode == 1 and "bild.eml" in err
        assert count(rt, "SELECT count(*) FROM inbox_messages") == 0
    finally:
        rt.close()


def test_the_fetch_job_polls_a_real_mailbox_once_per_mail(make_settings: Callable[..., Settings],
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """inbox.fetch against a private Dovecot: new mail is stored and queued, a second poll stores nothing, mail
    that arrives later is taken on the next poll; the department is the mailbox's."""
    from mailservers import start_dovecot

    from rathaus.inbox.jobs import fetch

    server = start_dovecot()
    try:
        monkeypatch.setenv("INBOX_TEST_PASSWORD", server.password)
        settings = make_settings(inbox_mailboxes={"buergerbuero": {
            "host": server.host, "port": server.port, "security": "none", "user": server.user,
            "password_env": "INBOX_TEST_PASSWORD"}})
        rt = Runtime(settings)
        try:
            mails = write_mails(tmp_path / "mails", 3)
            for path in mails[:2]:
                server.deliver(path.read_bytes())
            assert fetch(rt) == {"buergerbuero": {"stored": 2, "failed": 0}}
            assert fetch(rt) == {"buergerbuero": {"stored": 0, "failed": 0}}
            server.deliver(mails[2].read_bytes())
            assert fetch(rt) == {"buergerbuero": {"stored": 1, "failed": 0}}
            assert count(rt, "SELECT count(*) FROM inbox_messages WHERE mailbox = 'buergerbuero'") == 3
            assert count(rt, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'inbox.process'") == 3
            server.stop()
            from rathaus.inbox.mail import MailServerUnavailable

            with pytest.raises(MailServerUnavailable):  # the job fails and is retried by the queue
                fetch(rt)
            assert count(rt, "SELECT count(*) FROM inbox_messages") == 3
        finally:
            rt.close()
    finally:
        server.stop()


def test_the_citizens_contact_form(make_settings: Callable[..., Settings]) -> None:
    """/kontakt: off unless enabled; a sent form is stored once (double submit), bad input is re-shown with its
    reason and nothing stored, the honeypot is dropped, and each address may send a few per hour."""
    import re

    from fastapi.testclient import TestClient

    from rathaus.app import create_app

    rt = Runtime(make_settings(inbox_public_form=False))
    with TestClient(create_app(rt)) as client:
        assert client.get("/kontakt").status_code == 404
    rt.close()
    wait_for_a_fresh_rate_window(window_seconds=3600)
    rt = Runtime(make_settings(inbox_public_form=True, inbox_form_limit_per_hour=3))
    try:
        with TestClient(create_app(rt)) as client:
            page = client.get("/kontakt")
            assert page.status_code == 200 and "Ihre Nachricht" in page.text and "<script" not in page.text
            form_id = re.search(r'name="form_id" value="([0-9a-f]{32})"', page.text).group(1)
            form = {"form_id": form_id, "name": "Rita Beispiel", "email": "Rita@Example.org",
                    "subject": "Termin", "text": "Ich brauche einen Termin zur Ummeldung, bitte."}
            sent = client.post("/kontakt", data=form)
            assert sent.status_code == 200 and "Vorgangsnummer" in sent.text
            reference = re.search(r'id="reference">(\d+)<', sent.text).group(1)
            again = client.post("/kontakt", data=form)  # double click: the same message
            assert re.search(r'id="reference">(\d+)<', again.text).group(1) == reference
            bad = client.post("/kontakt", data={**form, "form_id": "1" * 32, "email": "kein-at", "text": "kurz"})
            assert bad.status_code == 400
            assert "E-Mail-Adresse ist ungültig" in bad.text and "10 bis 10000 Zeichen" in bad.text
            assert 'value="Termin"' in bad.text  # what was typed is kept
            bot = client.post("/kontakt", data={**form, "form_id": "2" * 32, "website": "http://spam.example"})
            assert bot.status_code == 200 and "Vorgangsnummer" not in bot.text
            limited = client.post("/kontakt", data={**form, "form_id": "3" * 32})
            assert limited.status_code == 200
            over = client.post("/kontakt", data={**form, "form_id": "4" * 32})
            assert over.status_code == 429 and "Retry-After" in over.headers
        with rt.db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT channel, sender_address, subject FROM inbox_messages")).all()
        assert sorted(rows) == [("form", "Rita@example.org", "Termin")] * 2  # form_id 1 x, 3 x; not bad, not bot
    finally:
        rt.close()
