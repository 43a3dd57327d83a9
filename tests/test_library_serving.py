"""Library recommendations as a product: samples → train (real embedder) → "for you" / "similar" from Python,
REST and CLI on the real embedded PostgreSQL; privacy (opt-out, no raw reader id in model files or the DB)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from oidc import Issuer
from rathaus.api.app import create_app
from rathaus.core.errors import Conflict, NotFound
from rathaus.core.settings import Settings
from rathaus.library import service, training
from rathaus.library.demo import ensure_samples
from rathaus.library.privacy import opt_out, reader_key
from rathaus.library.store import get_item, import_catalogue, list_items, reader_items
from rathaus.maintenance import run_once
from rathaus.runtime import Runtime
from test_traffic_import import bearer

READER = "L-0001"
EXTRA = "id,titel,autoren,medientyp,sprache\n200001,Pünktchen und Anton,\"Kästner, Erich\",Buch,ger\n"


@pytest.fixture(scope="module")
def trained(pg_data_dir: Path, models_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One database with the samples and one trained model for the whole module (training embeds 40 items)."""
    import uuid

    from conftest import MODEL_CACHE

    settings = Settings(_env_file=None, data_dir=pg_data_dir, cache_dir=MODEL_CACHE,  # type: ignore[call-arg]
                        database_name="t_" + uuid.uuid4().hex[:12], models_file=models_file, llm_threads=2,
                        library_models_dir=tmp_path_factory.mktemp("library-models"))
    rt = Runtime(settings)
    with pytest.raises(Conflict, match="train"):
        training.load_current(rt)
    done = ensure_samples(rt)
    assert done["imported"] and done["trained"]
    assert ensure_samples(rt) == {"imported": False, "trained": None}  # idempotent
    # an item without description and without loans, by an author of the samples, added after training
    import_catalogue(rt.db, EXTRA.encode(), "nachtrag.csv")
    with pytest.raises(Conflict, match="newer than the model"):
        service.similar(rt, "200001")
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
