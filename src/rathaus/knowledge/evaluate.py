"""Retrieval quality on any question set of the shape {id, question, passage_id}."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rathaus.core.auth import Principal
from rathaus.knowledge.search import Mode, search

if TYPE_CHECKING:
    from rathaus.runtime import Runtime


@dataclass
class RetrievalScores:
    questions: int
    mrr10: float
    recall: dict[int, float]
    p50_ms: float
    p95_ms: float


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def evaluate_retrieval(runtime: Runtime, principal: Principal, collection: str, records: list[dict[str, Any]], *,
                       mode: Mode = "hybrid", progress: Callable[[int], None] | None = None,
                       rescore: bool = False, weights: dict[str, float] | None = None) -> RetrievalScores:
    """Rank of each question's gold passage (matched by the document's external id) in the top 10."""
    reciprocal, latencies = [], []
    hits_at = {1: 0, 5: 0, 10: 0}
    for i, record in enumerate(records, 1):
        t0 = time.perf_counter()
        result = search(runtime, principal, record["question"], collection_names=[collection], k=10, mode=mode,
                        use_case="eval", rescore=rescore, weights=weights)
        latencies.append((time.perf_counter() - t0) * 1000)
        gold = str(record["passage_id"])
        ranked = []
        for hit in result.hits:  # several chunks of one document count once, at its best rank
            key = hit.external_id or hit.source
            if key not in ranked:
                ranked.append(key)
        rank = ranked.index(gold) + 1 if gold in ranked else None
        reciprocal.append(1.0 / rank if rank else 0.0)
        for k in hits_at:
            hits_at[k] += bool(rank and rank <= k)
        if progress:
            progress(i)
    n = len(records)
    return RetrievalScores(n, sum(reciprocal) / n, {k: v / n for k, v in hits_at.items()},
                           _percentile(latencies, 0.5), _percentile(latencies, 0.95))
