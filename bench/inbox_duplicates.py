"""Inbox duplicates: is this the same request? Precision/recall/F1 on real official-vs-colloquial question pairs.

Data: ``official-faq-de/paraphrase_pairs_dev.csv`` (question_1 = official FAQ wording, question_2 = how a citizen
asks it, similar = 1/0; from deepset COVID-QA, see its PROVENANCE.md). The pairs are split by official question
(question_1) with a fixed seed, half the groups for tuning and half for the report, so no official question is on
both sides. Every method's threshold is tuned on the tuning part (best F1) and reported on the report part.

Methods, all in this run:

* ``rathaus.inbox.duplicates`` (ours): MinHash LSH Jaccard OR embedding cosine, both thresholds chosen by
  :func:`calibrate`; on the report part the official questions are put into a :class:`DuplicateIndex` and each
  colloquial question is queried against it (a pair counts as "same" when the index returns its official question
  as duplicate or related), so LSH candidate misses count against us.
* MinHash only (datasketch, 128 permutations; word shingle size 1-3 chosen on tuning).
* TF-IDF cosine (scikit-learn, word unigrams+bigrams, fitted on the 390 FAQ passages, no labels).
* embedding cosine only (the platform's default embedder, USE multilingual), for reference.

Speed: 10,000 synthetic messages made by sampling an official question and 1-3 sentences of random FAQ answers (10 %
of them near-copies of an earlier message) are added one by one to a DuplicateIndex (each add also queries the
index); vectors are random unit vectors of the embedder's 512 dimensions, so index time excludes embedding time,
which is measured apart on 512 of the messages and scaled to 10,000.

    .venv/bin/python bench/inbox_duplicates.py [--data DIR] [--seed 15]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED_DATA, machine, require, table, write_result
from rathaus.inbox.duplicates import DuplicateIndex, Thresholds, best_threshold, calibrate, pair_scores, prf

DIMENSIONS = 512


def load_pairs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        rows = [{"a": r["question_1"].strip(), "b": r["question_2"].strip(), "y": int(r["similar"])}
                for r in csv.DictReader(f)]
    if not rows:
        print(f"bench: no pairs in {path}", file=sys.stderr)
        raise SystemExit(2)
    return rows


def split(rows: list[dict[str, Any]], seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    groups = sorted({r["a"] for r in rows})
    random.Random(seed).shuffle(groups)
    tuning = set(groups[: len(groups) // 2])
    return [r for r in rows if r["a"] in tuning], [r for r in rows if r["a"] not in tuning]


def embedder() -> Any:
    from rathaus.models.catalog import ModelSpec
    from rathaus.models.providers.embedded_embedder import EmbeddedEmbedder

    spec = ModelSpec(name="bench-use", kind="embedding", provider="embedded", engine="use-multilingual",
                     dimensions=DIMENSIONS, parameters_b=0.069, data_classes=["oeffentlich"], hosting="on-premises",
                     location="bench")
    model = EmbeddedEmbedder(spec)

    def embed(texts: list[str]) -> np.ndarray:
        out = [np.asarray(model.embed(texts[i:i + 64], purpose="query").vectors, dtype=np.float32)
               for i in range(0, len(texts), 64)]
        return np.concatenate(out) if out else np.zeros((0, DIMENSIONS), dtype=np.float32)

    return embed


def tfidf_cosine(passages: list[dict[str, Any]], a: list[str], b: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(lowercase=True, ngram_range=(1, 2), sublinear_tf=True)
    vectorizer.fit([f"{p['title']}\n{p['text']}" for p in passages])
    va, vb = vectorizer.transform(a), vectorizer.transform(b)
    return np.asarray(va.multiply(vb).sum(axis=1)).ravel()  # rows are L2-normalised: the sum is the cosine


def index_predictions(rows: list[dict[str, Any]], vectors: dict[str, np.ndarray], thresholds: Thresholds,
                      shingle_size: int) -> np.ndarray:
    index = DuplicateIndex(thresholds=thresholds, shingle_size=shingle_size)
    ids: dict[str, str] = {}
    for text in sorted({r["a"] for r in rows}):
        ids[text] = f"q{len(ids)}"
        index.add(ids[text], text, vectors[text])
    predicted = []
    for r in rows:
        matches = index.query(r["b"], vectors[r["b"]], limit=None)
        predicted.append(any(m.id == ids[r["a"]] and m.kind in ("duplicate", "related") for m in matches))
    return np.asarray(predicted)


def synthetic_messages(passages: list[dict[str, Any]], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    sentences = [s for p in passages for s in re.split(r"(?<=[.!?])\s+", p["text"]) if len(s) > 30]
    out: list[str] = []
    for _ in range(n):
        if out and rng.random() < 0.1:
            words = rng.choice(out).split()
            words[rng.randrange(len(words))] = "bitte"
            out.append(" ".join(words))
        else:
            out.append(" ".join([rng.choice(passages)["title"], *rng.sample(sentences, rng.randint(1, 3))]))
    return out


def speed(passages: list[dict[str, Any]], embed: Any, thresholds: Thresholds, shingle_size: int,
          seed: int) -> dict[str, float]:
    messages = synthetic_messages(passages, 10_000, seed)
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(messages), DIMENSIONS)).astype(np.float32)
    index = DuplicateIndex(thresholds=thresholds, shingle_size=shingle_size)  # as evaluated above
    t0 = time.perf_counter()
    for i, (text, v) in enumerate(zip(messages, vectors, strict=True)):
        index.add(f"m{i}", text, v)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(1000):
        index.query(messages[i], vectors[i])
    query = (time.perf_counter() - t0) * 10
    sample = messages[:512]
    embed(sample[:8])  # load the model first
    t0 = time.perf_counter()
    embed(sample)
    embedding = (time.perf_counter() - t0) * 10_000 / len(sample)
    return {"index_seconds_per_10k": build, "query_seconds_per_10k": query,
            "embedding_seconds_per_10k": embedding, "index_groups_found": len(index.groups())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "official-faq-de")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    pairs_path = require(args.data / "paraphrase_pairs_dev.csv", "official-faq-de paraphrase pairs")
    passages_path = require(args.data / "passages.jsonl", "official-faq-de passages")
    rows = load_pairs(pairs_path)
    passages = [json.loads(line) for line in passages_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tune, report = split(rows, args.seed)
    y_tune = np.array([r["y"] for r in tune])
    y_rep = np.array([r["y"] for r in report])
    print(f"pairs: {len(rows)}; tuning {len(tune)} ({int(y_tune.sum())} same), report {len(report)} "
          f"({int(y_rep.sum())} same); split by official question, seed {args.seed}")

    embed = embedder()
    texts = sorted({r["a"] for r in rows} | {r["b"] for r in rows})
    matrix = embed(texts)
    vectors = dict(zip(texts, matrix, strict=True))

    def vecs(part: list[dict[str, Any]], side: str) -> np.ndarray:
        return np.vstack([vectors[r[side]] for r in part])

    a_t, b_t = [r["a"] for r in tune], [r["b"] for r in tune]
    a_r, b_r = [r["a"] for r in report], [r["b"] for r in report]
    results: list[tuple[str, float, float, float, str]] = []

    # MinHash only: shingle size and threshold tuned
    best_mh = (0.0, 1, 1.01)
    for size in (1, 2, 3):
        jac, _ = pair_scores(a_t, b_t, shingle_size=size)
        th, f1 = best_threshold(jac, y_tune)
        if f1 > best_mh[0]:
            best_mh = (f1, size, th)
    _, mh_size, mh_th = best_mh
    jac_r, _ = pair_scores(a_r, b_r, shingle_size=mh_size)
    results.append(("MinHash only (datasketch)", *prf(jac_r >= mh_th, y_rep), f"shingle {mh_size}, J >= {mh_th}"))

    # TF-IDF cosine
    tf_th, _ = best_threshold(tfidf_cosine(passages, a_t, b_t), y_tune)
    results.append(("TF-IDF cosine", *prf(tfidf_cosine(passages, a_r, b_r) >= tf_th, y_rep), f"cos >= {tf_th}"))

    # embedding cosine only
    _, cos_t = pair_scores(a_t, b_t, vecs(tune, "a"), vecs(tune, "b"))
    _, cos_r = pair_scores(a_r, b_r, vecs(report, "a"), vecs(report, "b"))
    assert cos_t is not None and cos_r is not None
    emb_th, _ = best_threshold(cos_t, y_tune)
    results.append(("embedding cosine only (USE)", *prf(cos_r >= emb_th, y_rep), f"cos >= {emb_th}"))

    # ours: MinHash OR embedding, calibrated, evaluated through the index
    jac_t, _ = pair_scores(a_t, b_t, shingle_size=mh_size)
    cal = calibrate(y_tune, jac_t, cos_t)
    predicted = index_predictions(report, vectors, cal.thresholds, mh_size)
    p, r, f1 = prf(predicted, y_rep)
    results.append(("rathaus.inbox.duplicates (MinHash LSH + USE)", p, r, f1,
                    f"J >= {cal.thresholds.related_jaccard} or cos >= {cal.thresholds.related_cosine}"))
    print(f"tuning F1 of the calibrated combination: {cal.f1:.3f}")

    tf_f1 = results[1][3]
    print(table([(name, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", f"{f / tf_f1:.2f}" if tf_f1 else "", how)
                 for name, p, r, f, how in results],
                ("method (report part)", "precision", "recall", "F1", "F1 / TF-IDF", "threshold (tuned)")))

    timing = speed(passages, embed, cal.thresholds, mh_size, args.seed)
    print(f"index: {timing['index_seconds_per_10k']:.1f} s per 10,000 messages added (each add queries too), "
          f"query {timing['query_seconds_per_10k']:.1f} s per 10,000, embedding (USE) "
          f"{timing['embedding_seconds_per_10k']:.1f} s per 10,000 (synthetic messages, random vectors in the index)")

    figures: dict[str, Any] = {
        "duplicates_f1": f1, "duplicates_precision": p, "duplicates_recall": r,
        "minhash_duplicates_f1": results[0][3], "tfidf_duplicates_f1": tf_f1,
        "embedding_duplicates_f1": results[2][3],
        "duplicates_related_jaccard": cal.thresholds.related_jaccard,
        "duplicates_related_cosine": cal.thresholds.related_cosine, "duplicates_shingle_size": mh_size,
        "duplicates_tuning_pairs": len(tune), "duplicates_report_pairs": len(report),
        "duplicates_split": f"by official question (question_1), seed {args.seed}, half tuning / half report",
        **timing, **{f"machine_{k}": v for k, v in machine().items()},
    }
    write_result("inbox_duplicates", figures)
    merged_path = RESULTS / "inbox.json"
    merged = json.loads(merged_path.read_text()) if merged_path.exists() else {}
    for key in ("duplicates_f1", "minhash_duplicates_f1", "tfidf_duplicates_f1", "duplicates_precision",
                "duplicates_recall", "index_seconds_per_10k"):
        merged[key] = round(float(figures[key]), 6)
    merged_path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    print("written: bench/results/inbox_duplicates.json, keys merged into bench/results/inbox.json")


if __name__ == "__main__":
    main()
