"""How much of GermEval 2017's service-area task any of our rankings can route at >= 95 % precision – with hindsight.

The inbox goal "twice the share TF-IDF + LR routes automatically at >= 95 % precision" (issue 15) is measured
by bench/inbox_routing.py with thresholds calibrated inside the training folds. This benchmark asks what the
data allows at all: for each method's cross-validated confidences (stratified 5-fold, 3 seeds), the largest
share of documents whose top-confidence set is >= 95 % right, the threshold chosen on the held-out predictions
themselves (an upper bound no calibrated threshold can beat; not a figure to claim for routing).

Methods: TF-IDF (rathaus' TextFeatures) + LR (C 4), USE + LR and e5 + LR (C 8), and combinations of the three:
mean and geometric mean of probabilities, and the mean ranked first where all three agree.

    .venv/bin/python bench/inbox_routing_ceiling.py [--data DIR]   # ~2 min on 2 cores (embeddings)

Writes ``ceiling_share_at_p95_<method>`` (mean over seeds) into bench/results/inbox.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, require, table
from inbox_routing import embedder_of, merge_results
from rathaus.inbox.routing.evaluate import load_germeval
from rathaus.inbox.routing.head import TextFeatures

TARGET = 0.95
SEEDS = (0, 1, 2)


def hindsight_share(confidence: np.ndarray, correct: np.ndarray, target: float = TARGET) -> float:
    """The largest share of the most confident predictions that is at least ``target`` right."""
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(precision >= target)
    return float((ok[-1] + 1) / len(order)) if len(ok) else 0.0


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "germeval2017-db-feedback")
    args = ap.parse_args()
    rows = load_germeval(require(args.data / "dev.tsv", "germeval2017-db-feedback/dev.tsv"), "service_area")
    texts, y = [r.text for r in rows], np.array([r.category for r in rows])
    views = {"use": unit(np.asarray(embedder_of("multilingual-use")(texts))),
             "e5": unit(np.vstack([embedder_of("multilingual-e5-small")(texts[i:i + 64])
                                   for i in range(0, len(texts), 64)]))}
    classes = np.array(sorted(set(y.tolist())))
    shares: dict[str, list[float]] = {}
    for seed in SEEDS:
        probs = {k: np.zeros((len(y), len(classes))) for k in ("tfidf", "use", "e5")}
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, y):
            features = TextFeatures.fit([texts[i] for i in tr])
            data = {"tfidf": (features.transform([texts[i] for i in tr]), features.transform([texts[i] for i in te]),
                              4.0),
                    **{k: (v[tr], v[te], 8.0) for k, v in views.items()}}
            for k, (x_tr, x_te, c) in data.items():
                lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x_tr, y[tr])
                probs[k][te] = lr.predict_proba(x_te)
        mean = sum(probs.values()) / 3
        geo = np.exp(sum(np.log(p + 1e-9) for p in probs.values()) / 3)
        geo /= geo.sum(axis=1, keepdims=True)
        agree = np.all([p.argmax(1) == mean.argmax(1) for p in probs.values()], axis=0)
        candidates = {**{k: p for k, p in probs.items()}, "mean": mean, "geometric_mean": geo}
        for name, p in candidates.items():
            shares.setdefault(name, []).append(hindsight_share(p.max(1), classes[p.argmax(1)] == y))
        shares.setdefault("mean_agreeing_first", []).append(
            hindsight_share(mean.max(1) + agree, classes[mean.argmax(1)] == y))
    print(f"{len(rows)} documents; share routable at >= {TARGET:.0%} precision with hindsight, "
          f"seeds {SEEDS}:")
    print(table([(k, *(f"{v:.3f}" for v in s), f"{np.mean(s):.3f}") for k, s in shares.items()],
                ("method", *(f"seed {s}" for s in SEEDS), "mean")))
    print(f"written: {merge_results({f'ceiling_share_at_p95_{k}': float(np.mean(s)) for k, s in shares.items()})}")


if __name__ == "__main__":
    main()
