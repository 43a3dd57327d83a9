"""Knowledge bases against the real database and embedder: access rules, incremental ingest, search."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.core.errors import BadRequest, Conflict, Forbidden, NotFound
from rathaus.knowledge import collections, search
from rathaus.knowledge.access import ANONYMOUS
from rathaus.knowledge.ingest import Ingestor, sources_from_jsonl, sources_from_paths
from rathaus.runtime import Runtime

ADMIN = Principal(id="admin", kind="user", department="IT", roles=frozenset({"admin"}))
KVR = Principal(id="k1", kind="user", department="KVR", roles=frozenset({"kb-editor"}))
KVR_READER = Principal(id="k2", kind="user", department="KVR")
SOZ = Principal(id="s1", kind="user", department="Sozialreferat")

# Test passages (not facts about any city): clear topics, so retrieval behaviour can be checked.
PASSAGES = {
    "pass.md": "# Reisepass\n\nDen Reisepass beantragen Sie persönlich im Bürgerbüro. Mitzubringen sind ein "
               "biometrisches Passfoto und der bisherige Ausweis. Die Bearbeitung dauert etwa vier Wochen.",
    "muell.md": "# Sperrmüll\n\nSperrmüll wird nach vorheriger Anmeldung abgeholt. Große Möbelstücke stellen Sie "
                "am Abholtag bis sechs Uhr morgens an den Straßenrand.",
    "hund.md": "# Hundesteuer\n\nWer einen Hund hält, muss ihn innerhalb von zwei Wochen bei der Stadtkasse "
               "anmelden. Für Blindenhunde wird keine Steuer erhoben.",
}


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def make(rt: Runtime, name: str, principal: Principal = ADMIN, **kw) -> None:
    with rt.db.session() as s:
        collections.create(s, principal, name, embedding_model=rt.catalog.defaults.embedding, **kw)


def ingest(rt: Runtime, name: str, paths: list[Path], principal: Principal = ADMIN, **kw):
    sources, problems = sources_from_paths(paths)
    return Ingestor(rt, principal, name).run(sources, failures=problems, **kw)


def consistency(rt: Runtime) -> None:
    """Every document has chunks, counters and BM25 statistics equal a recount."""
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text(
            "SELECT count(*) FROM kb_documents d "
            "WHERE NOT EXISTS (SELECT 1 FROM kb_chunks c WHERE c.document_id = d.id)")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_chunks c LEFT JOIN kb_documents d ON d.id = c.document_id "
                                   "WHERE d.id IS NULL")) == 0
        for cid, chunks, tokens in conn.execute(sa.text("SELECT id, chunk_count, token_count FROM kb_collections")):
            real = conn.execute(sa.text("SELECT count(*), coalesce(sum(tokens), 0) FROM kb_chunks "
                                        "WHERE collection_id = :c"), {"c": cid}).one()
            assert (chunks, tokens) == tuple(real)
            stored = dict(conn.execute(sa.text("SELECT lexeme, df FROM kb_lexemes WHERE collection_id = :c"),
                                       {"c": cid}).all())
            recount = dict(conn.execute(sa.text(
                "SELECT word, ndoc FROM ts_stat(format('SELECT tsv FROM kb_chunks WHERE collection_id = %s', "
                "CAST(:c AS bigint)))"), {"c": cid}).all())
            assert stored == recount


def test_incremental_ingest(runtime: Runtime, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "docs", PASSAGES)
    (folder / "leer.txt").write_text("   \n")
    (folder / "kaputt.pdf").write_bytes(b"%PDF-1.4\n garbage")
    (folder / "bild.png").write_bytes(b"\x89PNG")
    make(runtime, "buergerinfo")
    first = ingest(runtime, "buergerinfo", [folder])
    c = first.counts
    assert (c["added"], c["failed"]) == (3, 3)
    reasons = {Path(i.source.removeprefix("file:")).name: i.detail for i in first.items if i.status == "failed"}
    assert reasons["leer.txt"] == "empty file"
    assert "not a readable PDF" in reasons["kaputt.pdf"]
    assert "unsupported file type .png" in reasons["bild.png"]
    consistency(runtime)
    # unchanged files are skipped
    assert ingest(runtime, "buergerinfo", [folder]).counts["unchanged"] == 3
    # a changed file replaces its chunks; a removed one goes with its chunks and vectors
    with runtime.db.engine.connect() as conn:
        old_chunks = set(conn.scalars(sa.text(
            "SELECT c.id FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE d.source LIKE '%hund.md'")))
    (folder / "hund.md").write_text(PASSAGES["hund.md"].replace("zwei Wochen", "einem Monat"))
    (folder / "muell.md").unlink()
    report = ingest(runtime, "buergerinfo", [folder], remove_missing=True, scope_prefix=f"file:{folder.resolve()}/")
    c = report.counts
    assert (c["updated"], c["unchanged"], c["removed"]) == (1, 1, 1)
    with runtime.db.engine.connect() as conn:
        now = set(conn.scalars(sa.text("SELECT c.id FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id "
                                       "WHERE d.source LIKE '%hund.md'")))
        assert not now & old_chunks
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_documents WHERE source LIKE '%muell.md'")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_chunks WHERE text LIKE '%Sperrmüll%'")) == 0
    consistency(runtime)


def test_duplicates_and_jsonl_records(runtime: Runtime, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join([
        json.dumps({"id": "a1", "text": PASSAGES["pass.md"], "title": "Pass", "url": "https://example.org/pass"}),
        json.dumps({"id": "a2", "text": PASSAGES["pass.md"], "title": "Pass"}),  # same content as a1
        "{kein json",
        json.dumps({"id": "a3"}),
        json.dumps({"id": "a1", "text": "doppelte id"}),
    ]), encoding="utf-8")
    make(runtime, "records")
    sources, problems = sources_from_jsonl(records)
    report = Ingestor(runtime, ADMIN, "records").run(sources, failures=problems)
    statuses = sorted((i.source, i.status) for i in report.items)
    assert ("jsonl:a1", "added") in statuses and ("jsonl:a2", "duplicate") in statuses
    assert sum(1 for i in report.items if i.status == "failed") == 2
    assert any(i.status == "duplicate" and "appears twice" in i.detail for i in report.items)
    hit = search(runtime, ADMIN, "Passfoto Bürgerbüro", collection_names=["records"]).hits[0]
    assert hit.external_id == "a1" and hit.url == "https://example.org/pass"


def test_access_rules_across_departments(runtime: Runtime, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "a", {"pass.md": PASSAGES["pass.md"]})
    other = write_folder(tmp_path / "b", {"hund.md": PASSAGES["hund.md"]})
    make(runtime, "kvr-intern", KVR, visibility="restricted", departments=["KVR"])
    make(runtime, "oeffentlich", ADMIN)
    ingest(runtime, "kvr-intern", [folder], principal=KVR)
    ingest(runtime, "oeffentlich", [other])
    query = "Wo beantrage ich einen Reisepass?"
    assert {h.collection for h in search(runtime, KVR_READER, query).hits} >= {"kvr-intern"}
    for outsider in (SOZ, ANONYMOUS):
        assert all(h.collection == "oeffentlich" for h in search(runtime, outsider, query).hits)
        with pytest.raises(NotFound, match="no collection named 'kvr-intern'"):
            search(runtime, outsider, query, collection_names=["kvr-intern"])
    with runtime.db.session() as s, pytest.raises(NotFound):
        collections.delete(s, SOZ, "kvr-intern")
    with runtime.db.session() as s, pytest.raises(Forbidden):
        collections.delete(s, KVR_READER, "kvr-intern")  # may read, may not change
    with pytest.raises(Forbidden):
        make(runtime, "fremd", KVR, visibility="restricted", departments=["Sozialreferat"])


def test_private_collection_only_for_its_owner(runtime: Runtime, tmp_path: Path) -> None:
    make(runtime, "chat-k2", KVR_READER, visibility="private")
    ingest(runtime, "chat-k2", [write_folder(tmp_path / "p", {"pass.md": PASSAGES["pass.md"]})], principal=KVR_READER)
    assert search(runtime, KVR_READER, "Reisepass", collection_names=["chat-k2"]).hits
    for other in (KVR, ADMIN):
        with pytest.raises(NotFound):
            search(runtime, other, "Reisepass", collection_names=["chat-k2"])


def test_cross_lingual_search_finds_german_passages(runtime: Runtime, tmp_path: Path) -> None:
    make(runtime, "info")
    ingest(runtime, "info", [write_folder(tmp_path / "d", PASSAGES)])
    questions = {
        "en": "Where do I apply for a passport?",
        "tr": "Pasaport için nereye başvurmalıyım?",
        "ar": "أين أتقدم بطلب للحصول على جواز سفر؟",
        "ru": "Где подать заявление на паспорт?",
        "de": "Was brauche ich für einen neuen Reisepass?",
    }
    for lang, question in questions.items():
        top = search(runtime, ANONYMOUS, question, collection_names=["info"], k=3).hits[0]
        assert "Reisepass" in top.text, (lang, top.text)
    en_dog = search(runtime, ANONYMOUS, "Do I have to register my dog?", collection_names=["info"]).hits[0]
    assert "Hund" in en_dog.text


def test_search_modes_filters_and_bad_queries(runtime: Runtime, tmp_path: Path) -> None:
    make(runtime, "info")
    ingest(runtime, "info", [write_folder(tmp_path / "d", PASSAGES)])
    fts = search(runtime, ADMIN, "Blindenhunde Steuer", collection_names=["info"], mode="fts").hits
    assert fts and "Blindenhunde" in fts[0].text and fts[0].fts_rank and fts[0].vector_score is None
    assert search(runtime, ADMIN, "Reisepass", collection_names=["info"], language="en").hits == []
    assert search(runtime, ADMIN, "Reisepass", collection_names=["info"], language="de").hits
    for bad, message in (("   ", "empty"), ("x" * 3000, "too long")):
        with pytest.raises(BadRequest, match=message):
            search(runtime, ADMIN, bad)


def test_collection_names_and_conflicts(runtime: Runtime) -> None:
    with pytest.raises(BadRequest, match="collection names use"):
        make(runtime, "Groß Buchstaben")
    make(runtime, "einmal")
    with pytest.raises(Conflict, match="exists already"):
        make(runtime, "einmal")
    with runtime.db.session() as s:
        assert collections.delete(s, ADMIN, "einmal") == 0


def test_kill_9_during_ingest_leaves_the_collection_consistent(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    rt = Runtime(settings)
    make(rt, "gross")
    rt.close()
    folder = tmp_path / "viele"
    folder.mkdir()
    for i in range(120):
        (folder / f"doc{i:03d}.md").write_text(f"# Dokument {i}\n\n" + (PASSAGES["pass.md"] + f" Nummer {i}. ") * 6)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir)})
    proc = subprocess.Popen([sys.executable, "-m", "rathaus.cli", "kb", "ingest", "gross", str(folder)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rt = Runtime(settings)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            with rt.db.engine.connect() as conn:
                if conn.scalar(sa.text("SELECT count(*) FROM kb_documents")) >= 10:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        with rt.db.engine.connect() as conn:
            written = conn.scalar(sa.text("SELECT count(*) FROM kb_documents"))
            state = conn.scalar(sa.text("SELECT status FROM kb_ingest_runs"))
        assert 10 <= written < 120 and state == "running"
        consistency(rt)
        report = ingest(rt, "gross", [folder])  # the next run completes the collection
        assert report.counts["added"] == 120 - written and report.counts["unchanged"] == written
        consistency(rt)
        with rt.db.engine.connect() as conn:
            states = sorted(conn.scalars(sa.text("SELECT status FROM kb_ingest_runs")))
        assert states == ["done", "interrupted"]
    finally:
        rt.close()


def test_date_filter_and_rescoring(runtime: Runtime, tmp_path: Path) -> None:
    import datetime as dt

    make(runtime, "info")
    ingest(runtime, "info", [write_folder(tmp_path / "d", PASSAGES)])
    with runtime.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE kb_documents SET modified_at = '2020-01-01' WHERE source LIKE '%pass.md'"))
    recent = search(runtime, ADMIN, "Reisepass beantragen", collection_names=["info"],
                    modified_after=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)).hits
    assert recent and all("Reisepass" not in h.text for h in recent)
    old = search(runtime, ADMIN, "Reisepass beantragen", collection_names=["info"],
                 modified_before=dt.datetime(2021, 1, 1, tzinfo=dt.UTC)).hits
    assert [h.title for h in old] == ["Reisepass"]
    rescored = search(runtime, ADMIN, "Wo beantrage ich einen Reisepass?", collection_names=["info"], rescore=True).hits
    assert "Reisepass" in rescored[0].text and rescored[0].score <= 1.0


def test_a_second_ingest_into_a_collection_waits_for_the_first_then_conflicts(runtime: Runtime, tmp_path: Path) -> None:
    """Uploads of several people into one collection queue for each other (within ``wait_seconds``); without a wait,
    or when the other ingest takes too long, a 409 with Retry-After – and what was stored stays consistent."""
    import threading
    import zlib

    make(runtime, "gemeinsam")
    folder = write_folder(tmp_path / "docs", {"a.md": "# Antrag\n\nDer Antrag auf Wohngeld wird schriftlich gestellt."})
    with runtime.db.session() as s:
        cid = s.scalar(sa.text("SELECT id FROM kb_collections WHERE name = 'gemeinsam'"))
    key = zlib.crc32(f"kb-ingest:{cid}".encode())
    with runtime.db.engine.connect() as other:  # another process's ingest holds the collection's lock
        assert other.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        with pytest.raises(Conflict, match="already running") as refused:
            ingest(runtime, "gemeinsam", [folder])
        assert refused.value.headers["Retry-After"] == "30"
        with pytest.raises(Conflict, match=r"already running \(waited 0.3 s\)"):
            ingest(runtime, "gemeinsam", [folder], wait_seconds=0.3)
        result: dict = {}
        waiting = threading.Thread(target=lambda: result.update(report=ingest(runtime, "gemeinsam", [folder],
                                                                               wait_seconds=60)))
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive() and not result  # it waits for the lock instead of failing
        other.scalar(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        other.commit()
        waiting.join(60)
    assert result["report"].counts["added"] == 1
    consistency(runtime)
