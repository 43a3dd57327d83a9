"""Issue 19, faults survived: a full disk or a read-only data directory gives one clear error – 507/503 problem+json
over HTTP, one line and a non-zero exit on the CLI – and leaves nothing half-written: the previous file as it was, no
temporary files, no database rows.

The disk is made full or read-only at the operating system's boundary (tests/fault_launcher.py: `os.open` raises
EROFS, `os.write` writes half and raises ENOSPC), because chmod does not stop root and a real small file system
cannot be mounted here; the backup writes into /dev/full, a real device that answers every write with ENOSPC; the
database's full disk is PostgreSQL's own SQLSTATE 53100 raised by the real server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cli_runner import cli_runner, one_line_error
from conftest import pdf_bytes
from fault_launcher import install
from rathaus.core import audit
from rathaus.core.errors import StorageFull, StorageReadOnly
from rathaus.core.files import TEMP_PREFIX, atomic_write
from rathaus.governance.reports.monthly import monthly_reports
from rathaus.runtime import Runtime

LAUNCHER = Path(__file__).parents[1] / "fault_launcher.py"


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path, str], None]]:
    """``fault(folder, "enospc" | "erofs")``: writes into ``folder`` fail from now until the test ends. As a normal
    user a read-only folder is real (chmod 0555); as root (whom chmod does not stop) EROFS is injected."""
    chmodded: list[Path] = []

    def make(folder: Path, kind: str) -> None:
        if kind == "erofs" and os.geteuid() != 0:
            folder.chmod(0o555)
            chmodded.append(folder)
        else:
            install(str(folder.resolve()), kind, lambda name, fn: monkeypatch.setattr(os, name, fn))

    yield make
    for folder in chmodded:
        folder.chmod(0o755)


def test_atomic_write_on_a_full_disk_keeps_the_old_file_and_leaves_no_temporary_file(
        tmp_path: Path, fault: Callable[[Path, str], None]) -> None:
    target = tmp_path / "bericht.csv"
    target.write_text("alt\n", encoding="utf-8")
    fault(tmp_path, "enospc")
    with pytest.raises(StorageFull, match=r"bericht.csv: the disk is full") as info:
        atomic_write(target, "neu\n" * 10_000)
    assert info.value.status == 507 and info.value.code == "storage-full"
    assert files(tmp_path) == {"bericht.csv": b"alt\n"}


def test_atomic_write_into_a_read_only_directory(tmp_path: Path, fault: Callable[[Path, str], None]) -> None:
    target = tmp_path / "bericht.csv"
    target.write_text("alt\n", encoding="utf-8")
    fault(tmp_path, "erofs")
    with pytest.raises(StorageReadOnly, match=r"bericht.csv: (read-only file system|permission denied)") as info:
        atomic_write(target, "neu\n")
    assert info.value.status == 503 and info.value.code == "storage-read-only"
    assert files(tmp_path) == {"bericht.csv": b"alt\n"}


@pytest.mark.parametrize("kind", ["enospc", "erofs"])
def test_monthly_reports_in_the_data_directory_stay_whole(runtime: Runtime, fault: Callable[[Path, str], None],
                                                          kind: str) -> None:
    """The monthly report job writes into data_dir/reports/<month>: a full or read-only disk fails the job with a
    clear error, and last run's reports stay as they were."""
    month = "2001-02" if kind == "enospc" else "2001-03"
    folder = runtime.settings.data_dir / "reports" / month
    shutil.rmtree(folder, ignore_errors=True)
    assert len(monthly_reports(runtime, month)["files"]) == 8
    before = files(folder)
    fault(folder, kind)
    error = StorageFull if kind == "enospc" else StorageReadOnly
    with pytest.raises(error, match="nothing was written"):
        monthly_reports(runtime, month)
    assert files(folder) == before
    assert not [p for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_an_audit_checkpoint_is_appended_whole_or_not_at_all(tmp_path: Path,
                                                             fault: Callable[[Path, str], None]) -> None:
    path, key = tmp_path / "audit" / "t.checkpoints.jsonl", b"k" * 32
    audit.write_checkpoint(path, key, "head", 1, "a" * 64)
    audit.write_checkpoint(path, key, "head", 2, "b" * 64)
    before = path.read_bytes()
    fault(path.parent, "enospc")
    with pytest.raises(StorageFull):
        audit.write_checkpoint(path, key, "head", 3, "c" * 64)
    assert path.read_bytes() == before  # no half line that would read as a forged checkpoint
    good, problems = audit.read_checkpoints(path, key)
    assert [c.seq for c in good] == [1, 2] and problems == []


def run_with_fault(runtime: Runtime, cwd: Path, folder: Path, kind: str, *args: str) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, with writes into ``folder`` failing (tests/fault_launcher.py)."""
    s = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(s.data_dir), "RATHAUS_DATABASE_NAME": s.database_name,
                "RATHAUS_MODELS_FILE": str(s.models_file), "RATHAUS_CACHE_DIR": str(s.cache_dir),
                "RATHAUS_TEST_FAULT_DIR": str(folder), "RATHAUS_TEST_FAULT": kind, "COLUMNS": "220"})
    return subprocess.run([sys.executable, str(LAUNCHER), *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


@pytest.mark.parametrize(("kind", "message"), [("enospc", "the disk is full"), ("erofs", "read-only file system")])
def test_cli_export_onto_a_full_or_read_only_disk_is_one_line_and_keeps_the_old_file(
        runtime: Runtime, tmp_path: Path, kind: str, message: str) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    csv = out / "usage.csv"
    csv.write_text("department,requests\nKVR,1\n", encoding="utf-8")
    result = run_with_fault(runtime, tmp_path, out, kind, "report", "usage", "--csv", str(csv))
    one_line_error(result, message)
    assert str(csv) in result.stderr
    assert files(out) == {"usage.csv": b"department,requests\nKVR,1\n"}
    # the same command without the fault writes the file: the fault, not the command, was the problem
    assert run_with_fault(runtime, tmp_path, tmp_path, "off", "report", "usage", "--csv", str(csv)).returncode == 0
    assert csv.read_text(encoding="utf-8") == "department\n"  # this month's (empty) report replaced the old file


def test_a_backup_onto_a_full_disk_is_one_line_and_keeps_the_previous_backup(runtime: Runtime,
                                                                            tmp_path: Path) -> None:
    """pg_dump writes into /dev/full (every write: ENOSPC) – a real full disk for the dump's temporary file."""
    run = cli_runner(runtime.settings, tmp_path)
    dump = tmp_path / "rathaus.dump"
    dump.write_bytes(b"the previous backup")
    partial = tmp_path / "rathaus.dump.partial"
    partial.symlink_to("/dev/full")
    one_line_error(run("backup", str(dump)), "the disk is full")
    assert dump.read_bytes() == b"the previous backup"
    assert not os.path.lexists(partial)


@pytest.fixture
def disk_full_documents(runtime: Runtime) -> Iterator[None]:
    """PostgreSQL answers every new document with its own 'disk full' error (SQLSTATE 53100), as when its volume is
    full: raised by the real server, seen by rathaus exactly as a full disk."""
    with runtime.db.engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' USING ERRCODE = 'disk_full';"
            " END $$"))
        conn.execute(sa.text("CREATE TRIGGER test_disk_full BEFORE INSERT ON kb_documents FOR EACH ROW "
                             "EXECUTE FUNCTION test_disk_full()"))
    try:
        yield
    finally:
        with runtime.db.engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER IF EXISTS test_disk_full ON kb_documents"))
            conn.execute(sa.text("DROP FUNCTION IF EXISTS test_disk_full()"))


def test_an_upload_onto_a_full_database_disk_is_503_storage_full_and_stores_nothing(
        client: TestClient, runtime: Runtime, disk_full_documents: None) -> None:
    assert client.post("/api/v1/collections", json={"name": "merkblaetter", "visibility": "private"}).status_code == 201
    upload = [("files", ("merkblatt.pdf", pdf_bytes("Die Meldebescheinigung kostet 10 Euro."), "application/pdf"))]
    resp = client.post("/api/v1/collections/merkblaetter/documents", files=upload)
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"].endswith("/storage-full") and "disk is full" in body["detail"]
    assert "Traceback" not in resp.text and resp.headers["Retry-After"] == "60"
    with runtime.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_documents")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_chunks")) == 0
    # room again: the same upload succeeds, without restarting anything
    with runtime.db.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER test_disk_full ON kb_documents"))
    again = client.post("/api/v1/collections/merkblaetter/documents", files=upload)
    assert again.status_code == 200 and again.json()["counts"]["added"] == 1
