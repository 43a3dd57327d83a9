"""Leave-one-out ranking metrics and the validation split carved out of the training loans."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp


@dataclass
class Holdout:
    """Training matrix with one loan per reader removed (``fit``) and the removed loans (``users``, ``items``)."""

    fit: sp.csr_matrix
    users: np.ndarray
    items: np.ndarray


def hold_out_one(X: sp.csr_matrix, seed: int = 0, max_users: int | None = None) -> Holdout:
    """Remove one random loan of every reader with at least two loans (at most ``max_users`` readers, drawn at
    random) — the validation split used for tuning; it never looks at a test file."""
    rng = np.random.default_rng(seed)
    X = sp.csr_matrix(X, dtype=np.float32, copy=True)
    counts = np.diff(X.indptr)
    users = np.flatnonzero(counts >= 2)
    if max_users is not None and len(users) > max_users:
        users = np.sort(rng.choice(users, size=max_users, replace=False))
    positions = X.indptr[users] + rng.integers(0, counts[users])
    items = X.indices[positions].copy()
    X.data[positions] = 0.0
    X.eliminate_zeros()
    return Holdout(X, users, items)


Seen: TypeAlias = sp.spmatrix | tuple[np.ndarray, np.ndarray]


def seen_cells(seen: Seen) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the seen items, from a csr matrix (or passed through when already cells)."""
    if isinstance(seen, tuple):
        return seen
    coo = seen.tocoo()
    return coo.row, coo.col


def ranks(scores: np.ndarray, seen: Seen, targets: np.ndarray, copy: bool = True) -> np.ndarray:
    """0-based rank of each row's target among the items the reader has not seen (seen items are excluded).
    Ties count half (the expected rank under a random tie-break, rounded down). ``copy=False`` overwrites
    ``scores``."""
    scores = np.array(scores, dtype=np.float32) if copy else np.asarray(scores, dtype=np.float32)
    rows, cols = seen_cells(seen)
    scores[rows, cols] = -np.inf
    target = scores[np.arange(len(targets)), targets][:, None]
    greater = (scores > target).sum(axis=1)
    ties = (scores == target).sum(axis=1) - 1
    return greater + ties // 2


def hit_rate(rank: np.ndarray, k: int) -> float:
    return float(np.mean(rank < k)) if len(rank) else float("nan")


def ndcg(rank: np.ndarray, k: int) -> float:
    """nDCG@k with one relevant item: 1/log2(rank + 2) if it is in the top k, else 0 (ideal DCG is 1)."""
    if not len(rank):
        return float("nan")
    return float(np.mean(np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)))


def ranking_figures(rank: np.ndarray, ks: Iterable[int] = (10, 20)) -> dict[str, float]:
    figures: dict[str, float] = {}
    for k in ks:
        figures[f"hr{k}"] = hit_rate(rank, k)
        figures[f"ndcg{k}"] = ndcg(rank, k)
    return figures


def objective(rank: np.ndarray) -> float:
    """What tuning maximises: HitRate@10 + HitRate@20 + nDCG@10 + nDCG@20 (the issue's four goal figures)."""
    return sum(ranking_figures(rank, (10, 20)).values())
