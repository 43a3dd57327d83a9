"""Retrieval on MLQA-de: BM25 (bm25s) baseline vs PostgreSQL full text, vectors and rathaus hybrid,
all in one run; then search latency with the corpus replicated to ~10 000 chunks.

    .venv/bin/python bench/retrieval.py [--data DIR] [--latency-chunks 10000]

All passages are ingested as a JSONL collection through the real ingestion path (chunking,
embedding, PostgreSQL); questions_dev.jsonl gives the gold passage of each question.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

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
from rathaus.knowledge.search import search
from rathaus.runtime import Runtime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "mlqa-de")
    ap.add_argument("--latency-chunks", type=int, default=10_000)
    ap.add_argument("--latency-queries", type=int, default=200)
    args = ap.parse_args()
    data = require(args.data, "MLQA-de")
    passages_file = require(data / "passages.jsonl", "passages.jsonl")
    questions = [json.loads(x) for x in require(data / "questions_dev.jsonl", "questions_dev.jsonl")
                 .read_text(encoding="utf-8").splitlines() if x.strip()]
    passages = [json.loads(x) for x in passages_file.read_text(encoding="utf-8").splitlines() if x.strip()]

    workdir = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    settings = Settings(_env_file=None, data_dir=workdir, database_name="bench_" + uuid.uuid4().hex[:6])
    figures: dict[str, object] = {"passages": len(passages), "questions": len(questions), **machine()}
    with Runtime(settings) as rt:
        principal = local_principal(settings)
        figures["ingest_s"], figures["chunks"] = ingest_jsonl(rt, principal, "mlqa", passages_file)
        figures["passages_per_s"] = len(passages) / figures["ingest_s"]  # type: ignore[operator]

        rows = []
        bm = bm25_scores(passages, questions)
        figures.update({f"bm25_{k}": v for k, v in bm.items()})
        rows.append(("BM25 (bm25s, baseline)", bm["mrr10"], bm["r1"], bm["r5"], bm["r10"], None, None))
        for mode, label in (("fts", "PostgreSQL full text (german)"), ("vector", "vectors (pgvector)"),
                            ("hybrid", "rathaus hybrid (RRF)")):
            r = evaluate_retrieval(rt, principal, "mlqa", questions, mode=mode)  # type: ignore[arg-type]
            figures.update({f"{mode}_mrr10": r.mrr10, f"{mode}_r1": r.recall[1], f"{mode}_r5": r.recall[5],
                            f"{mode}_r10": r.recall[10], f"{mode}_p50_ms": r.p50_ms, f"{mode}_p95_ms": r.p95_ms})
            rows.append((label, r.mrr10, r.recall[1], r.recall[5], r.recall[10], r.p50_ms, r.p95_ms))
        r = evaluate_retrieval(rt, principal, "mlqa", questions, mode="hybrid", rescore=True)
        figures.update({"rescored_mrr10": r.mrr10, "rescored_r1": r.recall[1], "rescored_r5": r.recall[5],
                        "rescored_r10": r.recall[10], "rescored_p50_ms": r.p50_ms, "rescored_p95_ms": r.p95_ms})
        rows.append(("hybrid + score re-scoring (option)", r.mrr10, r.recall[1], r.recall[5], r.recall[10],
                     r.p50_ms, r.p95_ms))
        figures["hybrid_vs_bm25"] = figures["hybrid_mrr10"] / bm["mrr10"]  # type: ignore[operator]
        print(table([(n, f"{m:.3f}", f"{m / bm['mrr10']:.2f}", f"{a:.3f}", f"{b:.3f}", f"{c:.3f}",
                      "" if p50 is None else f"{p50:.1f}", "" if p95 is None else f"{p95:.1f}")
                     for n, m, a, b, c, p50, p95 in rows],
                    ("method", "MRR@10", "vs BM25", "R@1", "R@5", "R@10", "p50 ms", "p95 ms")))

        # latency at ~10k chunks: replicate the corpus under new ids (vectors reused, no re-embedding)
        total = replicate_collection(rt.db.engine, "mlqa", args.latency_chunks)
        figures["latency_chunks"] = total
        lat = []
        for q in (questions * 5)[: args.latency_queries]:
            t = time.perf_counter()
            search(rt, principal, q["question"], collection_names=["mlqa"], k=10)
            lat.append((time.perf_counter() - t) * 1000)
        figures["p50_ms"] = percentile(lat, 0.5)
        figures["p95_ms"] = percentile(lat, 0.95)
        print(f"\nhybrid search at {total} chunks: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms "
              f"({len(lat)} queries incl. query embedding)")
        print(f"ingestion: {len(passages)} passages, {figures['chunks']} chunks in {figures['ingest_s']:.1f} s")
    print(f"written: {write_result('retrieval', figures)}")


if __name__ == "__main__":
    main()
