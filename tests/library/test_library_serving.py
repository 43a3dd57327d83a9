"""Library recommendations as a product: samples → train (real embedder) → "for you" / "similar" from Python,
REST and CLI on the real embedded PostgreSQL; privacy (opt-out, no raw reader id in model files or the DB)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from oidc import Issuer, bearer
from rathaus.app import create_app
from rathaus.core.errors import Conflict, NotFound
from rathaus.core.settings import Settings
from rathaus.library import service, training
from rathaus.library.demo import ensure_samples
from rathaus.library.privacy import opt_out, reader_key
from rathaus.library.settings import LibrarySettings
from rathaus.library.store import get_item, import_catalogue, list_items, reader_items
from rathaus.maintenance import run_once
from rathaus.runtime import Runtime

READER = "L-0001"
EXTRA = "id,titel,autoren,medientyp,sprache\n200001,Pünktchen und Anton,\"Kästner, Erich\",Buch,ger\n"


@pytest.fixture(scope="module")
def trained(pg_data_dir: Path, models_file: Path, tmp_path_factory: pytest.TempPathFactory,
            issuer: Issuer) -> Iterator[Runtime]:
    """One database with the samples and one trained model for the whole module (training embeds 40 items)."""
    import uuid

    from conftest import MODEL_CACHE

    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                        database_name="t_" + uuid.uuid4().hex[:12], models_file=models_file, llm_threads=2,
                        library_models_dir=tmp_path_factory.mktemp("library-models"),
                        **issuer.settings())
    rt = Runtime(settings)
    with pytest.raises(Conflict, match="train"):
        training.load_current(rt)
    done = ensure_samples(rt)
    assert done["imported"] and done["trained"]
    assert ensure_samples(rt) == {"imported": False, "trained": None}  # idempotent
    # an item without description and without loans, by an author of the samples, added after training
    import_catalogue(rt.db, EXTRA.encode(), "nachtrag.csv")
    cold = service.similar(rt, "200001", k=3)  # newer than the model: a cold start, answered from its metadata
    assert cold["basis"].startswith("content") and len(cold["items"]) == 3
    assert [i["id"] for i in cold["items"][:2]] == ["100001", "100002"], cold["items"]  # the two other Kästners
    training.train(rt)
    try:
        yield rt
    finally:
        rt.close()


def test_train_report_and_files(trained: Runtime) -> None:
    info = service.model_info(trained)
    assert info["items"] == 41 and info["readers"] == 30 and info["content"].startswith("embedder:")
    assert info["cold_items"] >= 1 and abs(sum(info["weights"].values()) - 1) < 1e-6
    folder = Path(info["path"])
    assert {"model.json", "arrays.npz", "items.json", "train.json", "vectors.npy"} <= {p.name for p in
                                                                                       folder.iterdir()}
    assert training.load_current(trained) is training.load_current(trained)  # cached per model id


def test_for_you_explains_with_own_loans_and_respects_filters(trained: Runtime) -> None:
    borrowed = set(reader_items(trained.db, reader_key(trained.settings, READER)))
    assert borrowed
    answer = service.for_you(trained, READER, k=5)
    assert answer["basis"] == "loans" and len(answer["items"]) == 5
    titles = {get_item(trained.db, i)["title"] for i in borrowed}
    for item in answer["items"]:
        assert item["id"] not in borrowed
        assert item["because"] and set(item["because"]) <= borrowed, item
        assert any(f"„{t}“" in item["explanation"]["de"] for t in titles)
        assert item["explanation"]["en"].startswith("because you borrowed “")
    films = service.for_you(trained, READER, k=3, media_type="film")["items"]
    assert films and all(i["media_type"] == "film" for i in films)
    english = service.for_you(trained, READER, k=3, language="eng")["items"]
    assert english and all(i["language"] == "eng" for i in english)
    new = service.for_you(trained, "L-9999", k=4)
    assert new["basis"] == "popular" and len(new["items"]) == 4
    assert all(i["explanation"]["de"] == "Beliebt in der Bibliothek" for i in new["items"])


def test_similar_for_cold_item_without_description(trained: Runtime) -> None:
    loaded = training.load_current(trained)
    assert loaded.model.cold[loaded.index["200001"]]
    got = service.similar(trained, "200001", k=5)["items"]
    assert len(got) == 5 and "200001" not in {g["id"] for g in got}
    kaestner = {i["id"] for i in list_items(trained.db, q="Kästner")} - {"200001"}
    assert kaestner and {g["id"] for g in got[:len(kaestner)]} == kaestner, got
    with pytest.raises(NotFound):
        service.similar(trained, "no-such-item")


def test_opt_out_stops_personal_use_and_retrain_drops_them(trained: Runtime) -> None:
    reader = "L-0002"
    before = service.for_you(trained, reader, k=3)
    assert before["basis"] == "loans"
    readers_before = service.model_info(trained)["readers"]
    with trained.db.session() as session:
        opt_out(session, trained.settings, reader)
    after = service.for_you(trained, reader, k=3)
    assert after["basis"] == "opted_out"
    assert all(i["because"] == [] and i["explanation"]["en"] == "popular in the library" for i in after["items"])
    report = training.train(trained)
    assert report.readers == readers_before - 1


@pytest.fixture(scope="module")
def api(trained: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(trained)) as c:
        yield c


def test_api_roles_errors_and_recommendations(trained: Runtime, api: TestClient, issuer: Issuer,
                                              caplog: pytest.LogCaptureFixture) -> None:
    service_token, viewer, editor, other = (bearer(issuer, "katalog", ["library-service"]),
                                            bearer(issuer, "vic", ["library-viewer"]),
                                            bearer(issuer, "eva", ["library-editor"]),
                                            bearer(issuer, "olaf", ["traffic-editor"]))
    body = {"reader": READER, "k": 5, "media_type": "buch"}
    assert api.post("/api/v1/library/recommendations", json=body).status_code == 401
    denied = api.post("/api/v1/library/recommendations", json=body, headers=viewer)
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    with caplog.at_level("DEBUG"):
        got = api.post("/api/v1/library/recommendations", json=body, headers=service_token)
    assert got.status_code == 200, got.text
    items = got.json()["items"]
    assert len(items) == 5 and all(i["media_type"] == "buch" and i["because"] for i in items)
    assert READER not in got.text and READER not in caplog.text
    for bad, needle in (({**body, "k": 0}, "k"), ({**body, "k": 101}, "k"), ({**body, "reader": "  "}, "reader"),
                        ({**body, "media_type": "schallplatte"}, "media_type"), ({**body, "language": "Deutsch"},
                                                                                 "language")):
        answer = api.post("/api/v1/library/recommendations", json=bad, headers=editor)
        assert answer.status_code == 422 and needle in answer.json()["detail"], answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    # catalogue page
    assert api.get("/api/v1/library/items/100001/similar?k=3", headers=other).status_code == 403
    sim = api.get("/api/v1/library/items/100001/similar?k=3", headers=service_token)
    assert sim.status_code == 200 and len(sim.json()["items"]) == 3
    missing = api.get("/api/v1/library/items/nope/similar", headers=viewer)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert api.get("/api/v1/library/items/100001/similar?k=500", headers=viewer).status_code == 422
    page = api.get("/api/v1/library/items?media_type=film&limit=2", headers=viewer).json()
    assert len(page["items"]) == 2 and all(i["media_type"] == "film" for i in page["items"])
    # imports: editor only, the kind is checked
    csv = b"leser,medium,datum\nL-0031,100001,2026-05-01\n"
    assert api.post("/api/v1/library/imports", headers=viewer, data={"kind": "loans"},
                    files={"file": ("a.csv", csv, "text/csv")}).status_code == 403
    wrong = api.post("/api/v1/library/imports", headers=editor, data={"kind": "ausleihen"},
                     files={"file": ("a.csv", csv, "text/csv")})
    assert wrong.status_code == 422 and "kind" in wrong.json()["detail"]
    done = api.post("/api/v1/library/imports", headers=editor, data={"kind": "loans"},
                    files={"file": ("a.csv", csv, "text/csv")})
    assert done.status_code == 201 and done.json()["stored"] == 1
    assert api.get(f"/api/v1/library/imports/{done.json()['import_id']}", headers=viewer).json()["stored"] == 1
    # opt-out and back in, by body
    assert api.post("/api/v1/library/opt-outs", json={"reader": "L-0031"}, headers=service_token).status_code == 403
    out = api.post("/api/v1/library/opt-outs", json={"reader": "L-0031"}, headers=editor).json()
    assert out["loans_deleted"] == 1 and "reader_key" not in out
    assert api.post("/api/v1/library/opt-ins", json={"reader": "L-0031"}, headers=editor).json()["was_opted_out"]
    assert api.post("/api/v1/library/train", headers=viewer).status_code == 403


def test_no_raw_reader_id_in_model_files_or_database(trained: Runtime) -> None:
    folder = training.models_dir(trained.settings)
    pseudonym = reader_key(trained.settings, READER).encode()
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert READER.encode() not in data and pseudonym not in data, path
    with trained.db.session() as session:
        tables = session.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
        assert "library_loans" in tables and "audit_log" in tables
        for table in tables:
            hits = session.scalar(sa.text(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE :raw'),
                                  {"raw": f"%{READER}%"})
            assert hits == 0, table


def test_nightly_retrain_step(trained: Runtime) -> None:
    from rathaus.commands.common import cli_principal

    first = run_once(trained, cli_principal(trained.settings))
    assert first["library_trained"] is None  # the model is fresh
    trained.settings.section(LibrarySettings).library_retrain_hours = 1e-9
    try:
        second = run_once(trained, cli_principal(trained.settings))
    finally:
        trained.settings.section(LibrarySettings).library_retrain_hours = 24
    assert isinstance(second["library_trained"], str) and second["library_trained"] == training.current_id(
        trained.settings)
    assert len([p for p in training.models_dir(trained.settings).iterdir() if p.is_dir()]) <= training.KEEP


def cli(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": src, "OMP_NUM_THREADS": "1",
           "RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
           "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
           "RATHAUS_LIBRARY_MODELS_DIR": str(settings.section(LibrarySettings).library_models_dir),
           "COLUMNS": "200", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "rathaus.cli", "library", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_cli_recommend_similar_and_eval(trained: Runtime, tmp_path: Path) -> None:
    done = cli(trained.settings, tmp_path, "recommend", READER, "--k", "3")
    assert done.returncode == 0, done.stderr
    assert "Weil Sie „" in done.stdout and "basis: loans" in done.stdout and READER not in done.stdout
    assert cli(trained.settings, tmp_path, "similar", "100001", "--k", "2").returncode == 0
    trained_cli = cli(trained.settings, tmp_path, "train")
    assert trained_cli.returncode == 0, trained_cli.stderr
    for label in ("Medien / items: 41", "Leser / readers:", "Ausleihen / loans:", "Gewichte / weights: ease",
                  "Inhalt / content: embedder:", "Sekunden / seconds:"):
        assert label in trained_cli.stdout, trained_cli.stdout
    assert training.current_id(trained.settings) in trained_cli.stdout
    out = cli(trained.settings, tmp_path, "opt-out", "L-0050")
    assert out.returncode == 0 and "opt-out recorded: 0" in out.stdout and "L-0050" not in out.stdout
    assert "opt-out removed" in cli(trained.settings, tmp_path, "opt-in", "L-0050").stdout
    bad_k = cli(trained.settings, tmp_path, "recommend", READER, "--k", "0")
    assert bad_k.returncode == 1 and bad_k.stderr.strip().startswith("rathaus: k muss")
    (tmp_path / "train.tsv").write_text("".join(f"r{r}\ti{(r + j) % 7}\n" for r in range(12) for j in range(3)))
    (tmp_path / "test.tsv").write_text("".join(f"r{r}\ti{(r + 3) % 7}\n" for r in range(12)))
    table = cli(trained.settings, tmp_path, "eval", "train.tsv", "test.tsv", "--k", "2", "--k", "5")
    assert table.returncode == 0, table.stderr
    assert "HR@2" in table.stdout and "nDCG@5" in table.stdout and "rathaus" in table.stdout
    (tmp_path / "bad.tsv").write_text("r1\ti1\nr2 i2\n")
    broken = cli(trained.settings, tmp_path, "eval", "bad.tsv", "test.tsv")
    assert broken.returncode == 1
    lines = broken.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 2" in lines[0], broken.stderr


def test_cli_import_summary_and_unreadable_file(trained: Runtime, tmp_path: Path) -> None:
    from rathaus.library.catalogue import SAMPLE_DIR

    again = cli(trained.settings, tmp_path, "import", str(SAMPLE_DIR / "katalog.csv"), "--kind", "catalogue")
    assert again.returncode == 0, again.stderr
    assert "katalog.csv: catalogue-csv, 40 gelesen/read" in again.stdout and "unverändert/unchanged 40" in again.stdout
    (tmp_path / "bild.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    broken = cli(trained.settings, tmp_path, "import", "bild.png", "--kind", "loans")
    assert broken.returncode == 1 and len(broken.stderr.strip().splitlines()) == 1, broken.stderr


def test_content_similarity_without_any_subjects() -> None:
    """A catalogue without subjects (goodbooks) must not break the content model."""
    from rathaus.library.content import ContentSimilarity, ItemContent

    content = ItemContent(["Emil", "Momo", "Lottchen"], [["Kästner, Erich"], ["Ende, Michael"], ["Kästner, Erich"]],
                          [[], [], []], ["ger", "ger", "ger"])
    model = ContentSimilarity(content).fit()
    assert model.neighbours(0)[2] > model.neighbours(0)[1]


def test_new_reader_with_recent_searches_gets_the_search_signal(trained: Runtime) -> None:
    from rathaus.library.store import import_searches

    today = dt.date.today()
    import_searches(trained.db, f"leser,suchbegriff,datum\nL-0040,Deutsch lernen Grammatik,{today}\n".encode(),
                    "suchen-neu.csv")
    popular = [i["id"] for i in service.for_you(trained, "L-0041", k=5)["items"]]
    answer = service.for_you(trained, "L-0040", k=5)
    assert answer["basis"] == "popular+searches"
    assert answer["items"][0]["explanation"]["en"] == "popular and matching your recent searches"
    ids = [i["id"] for i in answer["items"]]
    assert ids != popular and {"100039", "100040"} & set(ids), answer  # the two German courses of the samples
    assert answer["items"][0]["because"] == []


def test_openapi_lists_the_library_endpoints(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/v1/library/recommendations", "/api/v1/library/items/{item_id}/similar",
            "/api/v1/library/imports", "/api/v1/library/train", "/api/v1/library/opt-outs"} <= paths.keys()


def test_training_over_http_is_a_job_to_poll(trained: Runtime, api: TestClient, issuer: Issuer) -> None:
    """POST /train queues library.train (202 + Location); a worker trains; the job's result is the report."""
    from rathaus.core.jobs import EmbeddedWorker

    editor = bearer(issuer, "eva", ["library-editor"])
    started = api.post("/api/v1/library/train", headers=editor)
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location == f"/api/v1/jobs/{started.json()['job_id']}" and started.json()["status"] == "queued"
    waiting = api.post("/api/v1/library/train", headers=editor)  # one waiting training is enough
    assert waiting.status_code == 409 and waiting.json()["type"].endswith("/conflict")
    assert f"(job {started.json()['job_id']})" in waiting.json()["detail"]
    assert api.get(location, headers=editor).json()["status"] == "todo"
    with EmbeddedWorker(trained, periodic=False):
        deadline = time.monotonic() + 180
        while (job := api.get(location, headers=editor).json())["status"] in ("todo", "doing"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
    assert job["status"] == "succeeded", job
    report = job["result"]
    assert report["model_id"] == training.current_id(trained.settings)
    assert report["items"] >= 40 and report["loans"] > 0 and job["requested_by"] == "eva"
    assert (job["done"], job["total"]) != (None, None)  # the training reported its progress
