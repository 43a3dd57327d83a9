"""Serving latency of library recommendations through the REST API, on real goodbooks-10k data.

A catalogue CSV is built from ``books.csv`` (id, title, authors, language): every book that occurs in
``interactions_3k.csv`` plus ``--cold`` further books without any interaction; loans from ``interactions_3k.csv``
(reader ``G-<user_id>``, synthetic dates within the last 600 days). Both are imported into a throwaway embedded
PostgreSQL, the model is trained (content vectors from the platform's embedder, blend weights tuned), then timed:

* ``POST /api/v1/library/recommendations`` for 300 random readers (k 10, explanations) through FastAPI's
  TestClient (local auth mode): pseudonym, current loans from the DB, scoring, explanations, JSON;
* ``GET /api/v1/library/items/{id}/similar?k=10`` for 300 random books;
* baselines in the same run: the bare model call ``serving.recommend(model, rows, 10)`` (no HTTP, no database,
  explanations included) and ``service.for_you`` without HTTP (database + model).

    RATHAUS_SHARED_DATA=/work/shared/data OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python bench/library_serving.py
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, machine, percentile, require, table, write_result
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

REQUESTS = 300
LANGUAGES = {"eng": "eng", "en-US": "eng", "en-GB": "eng", "en-CA": "eng", "en": "eng", "ger": "ger", "deu": "ger",
             "fre": "fre", "spa": "spa", "ita": "ita"}


def build_files(data: Path, cold: int, seed: int = 0) -> tuple[bytes, bytes, list[str], list[str]]:
    rng = random.Random(seed)
    pairs = [line.split("\t") for line in (data / "interactions_3k.csv").read_text().split("\n") if line.strip()]
    used = {b.strip() for _, b in pairs}
    with (data / "books.csv").open(encoding="utf-8") as f:
        books = list(csv.DictReader(f))
    others = [b for b in books if b["book_id"] not in used]
    chosen = [b for b in books if b["book_id"] in used] + rng.sample(others, min(cold, len(others)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "title", "authors", "language", "media_type"])
    for b in chosen:
        writer.writerow([b["book_id"], b["title"], b["authors"].replace(", ", "; "),
                         LANGUAGES.get(b["language_code"], ""), "Buch"])
    today = dt.date.today()
    loans = io.StringIO()
    loans.write("reader,item,date\n")
    for user, book in pairs:
        loans.write(f"G-{user.strip()},{book.strip()},{today - dt.timedelta(days=rng.randint(1, 600))}\n")
    readers = sorted({f"G-{u.strip()}" for u, _ in pairs})
    return out.getvalue().encode(), loans.getvalue().encode(), readers, [b["book_id"] for b in chosen]


def timed(call: object, args: list) -> list[float]:
    times = []
    for a in args:
        t0 = time.perf_counter()
        call(a)  # type: ignore[operator]
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    from fastapi.testclient import TestClient

    from rathaus.app import create_app
    from rathaus.library import service, serving, training
    from rathaus.library.privacy import reader_key
    from rathaus.library.store import import_catalogue, import_loans, reader_items

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "goodbooks-10k")
    ap.add_argument("--cold", type=int, default=1000, help="books without interactions added to the catalogue")
    ap.add_argument("--no-embed", action="store_true", help="metadata TF-IDF instead of the embedder")
    args = ap.parse_args()
    require(args.data / "interactions_3k.csv", "goodbooks-10k (set RATHAUS_SHARED_DATA)")
    catalogue, loans, readers, items = build_files(args.data, args.cold)
    rng = random.Random(1)
    sample_readers, sample_items = rng.sample(readers, REQUESTS), rng.sample(items, REQUESTS)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), database_name="b_" + uuid.uuid4().hex[:10],  # type: ignore[call-arg]
                            auth_mode="local", library_loan_retention_days=730)
        with Runtime(settings) as rt:
            t0 = time.perf_counter()
            cat = import_catalogue(rt.db, catalogue, "goodbooks.csv")
            imported = import_loans(rt.db, loans, "goodbooks-loans.csv")
            t_import = time.perf_counter() - t0
            print(cat.summary_line(), "\n", imported.summary_line(), file=sys.stderr)
            report = training.train(rt, embed=not args.no_embed)
            print(report.summary_line(), file=sys.stderr)
            loaded = training.load_current(rt)
            rows = {r: [loaded.index[i] for i in reader_items(rt.db, reader_key(rt.settings, r))]
                    for r in sample_readers}
            with TestClient(create_app(rt)) as client:
                def post(reader: str) -> None:
                    r = client.post("/api/v1/library/recommendations", json={"reader": reader, "k": 10})
                    assert r.status_code == 200 and len(r.json()["items"]) == 10, r.text

                def get(item: str) -> None:
                    r = client.get(f"/api/v1/library/items/{item}/similar?k=10")
                    assert r.status_code == 200, r.text

                post(sample_readers[0]), get(sample_items[0])  # warm-up
                for_you = timed(post, sample_readers)
                similar = timed(get, sample_items)
            bare = timed(lambda r: serving.recommend(loaded.model, rows[r], 10), sample_readers)
            python = timed(lambda r: service.for_you(rt, r, 10), sample_readers)
    figures = {
        "for_you_p50_ms": percentile(for_you, 0.5), "for_you_p95_ms": percentile(for_you, 0.95),
        "similar_p50_ms": percentile(similar, 0.5), "similar_p95_ms": percentile(similar, 0.95),
        "baseline_p50_ms": percentile(bare, 0.5), "baseline_p95_ms": percentile(bare, 0.95),
        "baseline": "bare model call serving.recommend (no HTTP, no database, explanations included)",
        "for_you_python_p50_ms": percentile(python, 0.5), "for_you_python_p95_ms": percentile(python, 0.95),
        "train_s": report.seconds, "embed_s": report.embed_seconds, "import_s": t_import,
        "items": report.items, "cold_items": report.cold_items, "readers": report.readers, "loans": report.loans,
        "content": report.content, "weights": ", ".join(f"{k} {v:.1f}" for k, v in report.weights.items()),
        "ease_l2": report.ease_l2, "requests": REQUESTS, **machine(),
    }
    rows_out = [
        ("POST /recommendations (HTTP, DB, model, explanations)", f"{figures['for_you_p50_ms']:.1f}",
         f"{figures['for_you_p95_ms']:.1f}"),
        ("for_you in Python (DB + model, no HTTP)", f"{figures['for_you_python_p50_ms']:.1f}",
         f"{figures['for_you_python_p95_ms']:.1f}"),
        ("baseline: bare model call serving.recommend", f"{figures['baseline_p50_ms']:.1f}",
         f"{figures['baseline_p95_ms']:.1f}"),
        ("GET /items/{id}/similar (HTTP)", f"{figures['similar_p50_ms']:.1f}", f"{figures['similar_p95_ms']:.1f}"),
    ]
    print(table(rows_out, ("request", "p50 ms", "p95 ms")))
    print(f"train {report.seconds:.1f} s (embedding {report.embed_seconds:.1f} s), import {t_import:.1f} s; "
          f"{report.items} items ({report.cold_items} cold), {report.readers} readers, {report.loans} loans; "
          f"{report.content}; weights {figures['weights']}")
    print(write_result("library_serving", figures))


if __name__ == "__main__":
    main()
