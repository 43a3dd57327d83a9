"""Knowledge collections over HTTP and the CLI: uploads with per-file reports, department isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import pdf_bytes
from oidc import Issuer
from rathaus.app import create_app
from rathaus.runtime import Runtime


@pytest.fixture
def oidc_client(make_settings, issuer: Issuer) -> Iterator[TestClient]:
    rt = Runtime(make_settings(**issuer.settings()))
    with TestClient(create_app(rt)) as c:
        yield c
    rt.close()


def bearer(issuer: Issuer, **kw) -> dict[str, str]:
    return {"Authorization": "Bearer " + issuer.token(**kw)}


def test_upload_search_and_cross_department_isolation(oidc_client: TestClient, issuer: Issuer) -> None:
    editor = bearer(issuer, sub="e1", department="KVR", roles=["kb-editor"])
    created = oidc_client.post("/api/v1/collections", headers=editor, json={
        "name": "kvr-merkblaetter", "visibility": "restricted", "departments": ["KVR"]})
    assert created.status_code == 201, created.text
    files = [
        ("files", ("merkblatt.pdf", pdf_bytes("Merkblatt Meldebescheinigung\nDie Meldebescheinigung kostet 10 Euro "
                                              "und wird im Bürgerbüro ausgestellt."), "application/pdf")),
        ("files", ("notiz.txt", "Die Hundesteuer wird jährlich fällig.".encode(), "text/plain")),
        ("files", ("leer.txt", b"", "text/plain")),
        ("files", ("kaputt.docx", b"PK\x03\x04 nicht wirklich", "application/vnd.openxmlformats-officedocument."
                                                              "wordprocessingml.document")),
    ]
    report = oidc_client.post("/api/v1/collections/kvr-merkblaetter/documents", headers=editor, files=files).json()
    assert report["counts"]["added"] == 2 and report["counts"]["failed"] == 2
    assert {i["source"]: i["status"] for i in report["items"]}["upload:leer.txt"] == "failed"
    reader = bearer(issuer, sub="r1", department="KVR")
    hits = oidc_client.get("/api/v1/search", params={"q": "Was kostet die Meldebescheinigung?"}, headers=reader).json()
    assert hits["hits"][0]["title"] == "merkblatt.pdf" and hits["hits"][0]["page"] == 1
    outsider = bearer(issuer, sub="s1", department="Sozialreferat")
    assert oidc_client.get("/api/v1/search", params={"q": "Meldebescheinigung"}, headers=outsider).json()["hits"] == []
    for method, path in (("GET", "/api/v1/collections/kvr-merkblaetter"),
                         ("DELETE", "/api/v1/collections/kvr-merkblaetter"),
                         ("GET", "/api/v1/search?q=Meldebescheinigung&collection=kvr-merkblaetter")):
        resp = oidc_client.request(method, path, headers=outsider)
        assert resp.status_code == 404 and "kvr-merkblaetter" in resp.json()["detail"]
    assert oidc_client.get("/api/v1/collections", headers=outsider).json() == []
    assert oidc_client.delete("/api/v1/collections/kvr-merkblaetter", headers=reader).status_code == 403
    assert oidc_client.delete("/api/v1/collections/kvr-merkblaetter", headers=editor).json()["documents"] == 2


def test_bad_collection_requests(oidc_client: TestClient, issuer: Issuer) -> None:
    admin = bearer(issuer, sub="a", department="IT", roles=["admin"])
    assert oidc_client.post("/api/v1/collections", headers=admin, json={"name": "Nicht Gültig"}).status_code == 422
    assert oidc_client.post("/api/v1/collections", headers=admin, json={"name": "x", "visibility": "geheim"}
                            ).status_code == 422
    assert oidc_client.post("/api/v1/collections", headers=admin, json={"name": "dup"}).status_code == 201
    conflict = oidc_client.post("/api/v1/collections", headers=admin, json={"name": "dup"})
    assert conflict.status_code == 409 and conflict.headers["content-type"].startswith("application/problem+json")
    assert oidc_client.post("/api/v1/collections/dup/ingest", headers=admin, json={}).status_code == 400
    chat_embedder = oidc_client.post("/api/v1/collections", headers=admin,
                                     json={"name": "mit-chat", "embedding_model": "local-chat"})
    assert chat_embedder.status_code == 400 and "is a chat model" in chat_embedder.json()["detail"]
    assert oidc_client.get("/api/v1/collections/mit-chat", headers=admin).status_code == 404  # nothing created
    chosen = oidc_client.post("/api/v1/collections", headers=admin,
                              json={"name": "mit-e5", "embedding_model": "local-e5"})
    assert chosen.status_code == 201 and chosen.json()["embedding_model"] == "local-e5"
    assert oidc_client.get("/api/v1/search", params={"q": ""}, headers=admin).status_code == 422


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
                "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "rathaus.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_cli_kb_lifecycle_ask_and_eval(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "pass.md").write_text("# Reisepass\n\nDen Reisepass beantragen Sie persönlich im Bürgerbüro. "
                                    "Mitzubringen ist ein biometrisches Passfoto.")
    (folder / "hund.md").write_text("# Hundesteuer\n\nJeder Hund muss innerhalb von zwei Wochen angemeldet werden.")
    records = tmp_path / "q.jsonl"
    records.write_text('{"id": "q1", "question": "Wo beantrage ich den Reisepass?", "passage_id": "x"}\n')
    created = cli(settings, "kb", "create", "info", "--title", "Bürgerinfo")
    assert created.returncode == 0 and "embedder: local-embed" in created.stdout
    ingest = cli(settings, "kb", "ingest", "info", str(folder))
    assert ingest.returncode == 0 and "2 added" in ingest.stdout
    again = cli(settings, "kb", "ingest", "info", str(folder))
    assert "2 unchanged" in again.stdout
    (folder / "kaputt.pdf").write_bytes(b"%PDF-1.4 not really a PDF")
    partial = cli(settings, "kb", "ingest", "info", str(folder))  # one bad file: scripts must see it (issue 13)
    assert partial.returncode == 1 and "2 unchanged" in partial.stdout and "1 failed" in partial.stdout
    assert partial.stderr.strip().splitlines()[-1] == "rathaus: 1 of 3 sources failed (listed above); the others " \
                                                     "were ingested"
    (folder / "kaputt.pdf").unlink()
    status = cli(settings, "kb", "status")
    assert "info" in status.stdout and "de 2" in status.stdout
    found = cli(settings, "kb", "search", "Wo bekomme ich einen Pass?", "-c", "info")
    assert found.returncode == 0 and "Reisepass" in found.stdout.splitlines()[0]
    assert "keine Treffer" in cli(settings, "kb", "search", "Reisepass", "-c", "info", "--language", "en").stdout
    evaluated = cli(settings, "eval", "retrieval", str(records), "-c", "info", "--mode", "all")
    assert evaluated.returncode == 0 and "MRR@10" in evaluated.stdout
    asked = cli(settings, "ask", "Wie heißt die Hauptstadt von Frankreich?", "--assistant", "ki-roadmap")
    assert asked.returncode == 0 and "115" in asked.stdout  # empty sample collection here: abstains with contact
    no_model = cli(settings, "kb", "create", "other", "--embedder", "nope")
    assert no_model.returncode == 1 and no_model.stderr.strip().startswith(
        "rathaus: no embedding model named 'nope' in the model catalogue (available: local-e5, local-embed")
    bad = cli(settings, "kb", "ingest", "nope", str(folder))
    assert bad.returncode == 1 and bad.stderr.strip() == "rathaus: no collection named 'nope'"
    empty = cli(settings, "ask", "   ")
    assert empty.returncode == 1 and "empty" in empty.stderr and "Traceback" not in empty.stderr
    assert cli(settings, "kb", "delete", "info", "--yes").returncode == 0


def test_names_one_may_not_see_cannot_be_probed(oidc_client: TestClient, issuer: Issuer) -> None:
    """Creating a collection must not tell whether another department's (or person's) collection of that name
    exists: a name is unique among what its creator can read (rathaus.knowledge.collections)."""
    kvr_editor = bearer(issuer, sub="e1", department="KVR", roles=["kb-editor"])
    kvr_reader = bearer(issuer, sub="r1", department="KVR")
    soz_user = bearer(issuer, sub="s1", department="Sozialreferat")
    soz_editor = bearer(issuer, sub="s2", department="Sozialreferat", roles=["kb-editor"])
    both = bearer(issuer, sub="q1", department="KVR", roles=["querschnitt"])
    admin = bearer(issuer, sub="a", department="IT", roles=["admin"])
    new = oidc_client.post
    assert new("/api/v1/collections", headers=kvr_editor, json={
        "name": "disziplinar", "visibility": "restricted", "departments": ["KVR"], "title": "KVR intern"}
    ).status_code == 201
    oidc_client.post("/api/v1/collections/disziplinar/documents", headers=kvr_editor,
                     files=[("files", ("akte.txt", b"Vermerk zum Verfahren gegen die Sachbearbeitung.",
                                       "text/plain"))])

    # an outsider's creation of the taken name looks exactly like the creation of an unused one
    taken = new("/api/v1/collections", headers=soz_user, json={"name": "disziplinar", "visibility": "private"})
    unused = new("/api/v1/collections", headers=soz_user, json={"name": "frei-erfunden", "visibility": "private"})
    assert taken.status_code == unused.status_code == 201, taken.text
    assert taken.json()["visibility"] == "private" and taken.json()["documents"] == 0
    assert set(taken.json()) == set(unused.json())
    assert new("/api/v1/collections", headers=soz_editor, json={
        "name": "disziplinar", "visibility": "restricted", "departments": ["Sozialreferat"],
        "roles": ["querschnitt"]}).status_code == 201
    for path in ("/api/v1/collections/nie-angelegt", "/api/v1/collections/kvr-only"):
        resp = oidc_client.get(path, headers=soz_user)
        assert resp.status_code == 404 and resp.json()["type"].endswith("/not-found")
    new("/api/v1/collections", headers=kvr_editor, json={"name": "kvr-only", "visibility": "restricted",
                                                         "departments": ["KVR"]})
    resp = oidc_client.get("/api/v1/collections/kvr-only", headers=soz_user)
    assert resp.status_code == 404 and resp.json()["detail"] == "no collection named 'kvr-only'"

    # names the creator can see still conflict
    for headers, body in ((kvr_editor, {"name": "disziplinar", "visibility": "restricted", "departments": ["KVR"]}),
                          (kvr_reader, {"name": "disziplinar", "visibility": "private"}),
                          (soz_user, {"name": "disziplinar", "visibility": "private"})):
        conflict = new("/api/v1/collections", headers=headers, json=body)
        assert conflict.status_code == 409 and conflict.json()["type"].endswith("/conflict"), conflict.text
    assert new("/api/v1/collections", headers=admin, json={"name": "amtsblatt"}).status_code == 201
    assert new("/api/v1/collections", headers=soz_user, json={"name": "amtsblatt", "visibility": "private"}
               ).status_code == 409

    # everyone reaches the collection the name means for them; the KVR's is untouched
    assert oidc_client.get("/api/v1/collections/disziplinar", headers=kvr_reader).json()["title"] == "KVR intern"
    assert oidc_client.get("/api/v1/collections/disziplinar", headers=soz_user).json()["visibility"] == "private"
    assert oidc_client.get("/api/v1/collections/disziplinar", headers=soz_editor).json()["departments"] == [
        "Sozialreferat"]
    # who reads two of them (department and role) gets the oldest: a new collection never takes over a name
    seen = oidc_client.get("/api/v1/collections/disziplinar", headers=both).json()
    assert seen["title"] == "KVR intern" and seen["documents"] == 1
    hits = oidc_client.get("/api/v1/search", params={"q": "Vermerk zum Verfahren", "collection": "disziplinar"},
                           headers=both).json()
    assert hits["collections"] == ["disziplinar"] and hits["hits"][0]["title"].startswith("Vermerk zum Verfahren")
    listed = [c["name"] for c in oidc_client.get("/api/v1/collections", headers=both).json()]
    assert listed.count("disziplinar") == 2
    # deleting removes the deleter's own collection only
    assert oidc_client.delete("/api/v1/collections/disziplinar", headers=soz_user).status_code == 200
    after = oidc_client.get("/api/v1/collections/disziplinar", headers=soz_user).json()
    assert after["visibility"] == "restricted" and after["departments"] == ["Sozialreferat"]  # the next oldest
    assert oidc_client.get("/api/v1/collections/disziplinar", headers=kvr_reader).json()["documents"] == 1
