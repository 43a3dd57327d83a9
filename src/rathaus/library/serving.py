"""Serving: personal recommendations with explanations, "similar media", and saving/loading trained models.

Models are saved as a directory (no pickle): ``model.json`` (kind, parameters, item ids), ``arrays.npz`` (dense
arrays, ``np.savez``) and one ``<name>.npz`` per sparse matrix (``scipy.sparse.save_npz``), so a nightly job can
train and the API can load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from rathaus.library.blend import COMPONENT_KINDS, Blend
from rathaus.library.content import ContentSimilarity
from rathaus.library.recommenders import Arrays, ItemKNN, Recommender

KINDS: dict[str, Any] = {**COMPONENT_KINDS, Blend.kind: Blend}
BECAUSE = 2


@dataclass
class Recommendation:
    """One recommended item (index, or id when ids are given), its score and up to two of the reader's items
    that contributed most ("because you borrowed …")."""

    item: int | str
    score: float
    because: list[int | str] = field(default_factory=list)


def reader_row(reader_items: Sequence[int] | sp.spmatrix, n_items: int) -> sp.csr_matrix:
    """A reader's loans as a 1 × n_items binary csr row."""
    if sp.issparse(reader_items):
        return sp.csr_matrix(reader_items, dtype=np.float32)
    cols = np.unique(np.asarray(reader_items, dtype=np.int64))
    return sp.csr_matrix((np.ones(len(cols), np.float32), (np.zeros(len(cols), np.int64), cols)),
                         shape=(1, n_items))


def n_items_of(model: Any) -> int:
    """Number of items (columns) a fitted model scores."""
    if isinstance(model, Blend):
        return int(model.cold.size)
    for attribute in ("popularity", "B", "similarity"):
        if hasattr(model, attribute):
            return int(getattr(model, attribute).shape[-1])
    return int(model.item_factors.shape[0])


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest finite scores, best first."""
    finite = np.flatnonzero(np.isfinite(scores))
    if len(finite) > k:
        finite = finite[np.argpartition(-scores[finite], k - 1)[:k]]
    return finite[np.argsort(-scores[finite], kind="stable")]


def name(index: int, item_ids: Sequence[str] | None) -> int | str:
    return item_ids[index] if item_ids is not None else int(index)


def because(model: Recommender, reader_items: np.ndarray, items: np.ndarray) -> list[list[int]]:
    """Per recommended item, up to two of the reader's items with the largest positive contribution to it."""
    values = model.contributions(reader_items, items) if len(reader_items) and len(items) else None
    if values is None:
        return [[] for _ in items]
    order = np.argsort(-values, axis=0, kind="stable")[:BECAUSE]
    return [[int(reader_items[i]) for i in order[:, column] if values[i, column] > 0]
            for column in range(len(items))]


def recommend(model: Recommender, reader_items: Sequence[int] | sp.spmatrix, k: int = 10,
              exclude: Iterable[int] = (), allowed: np.ndarray | None = None, search: np.ndarray | None = None,
              item_ids: Sequence[str] | None = None) -> list[Recommendation]:
    """Top-``k`` items for one reader: items already borrowed and ``exclude`` are never recommended, and only
    items with ``allowed[i]`` True (media type, language, age group — the caller's filters) are. ``search``:
    item scores from recent queries (Blend only). With ``item_ids`` items are returned as ids."""
    row = reader_row(reader_items, n_items_of(model))
    scores = model.scores(row, search=search)[0] if isinstance(model, Blend) else model.scores(row)[0]
    scores = np.array(scores, dtype=np.float64)
    scores[row.indices] = -np.inf
    scores[np.fromiter(exclude, dtype=np.int64)] = -np.inf
    if allowed is not None:
        scores[~np.asarray(allowed, dtype=bool)] = -np.inf
    best = top_k(scores, k)
    return [Recommendation(name(i, item_ids), float(scores[i]), [name(j, item_ids) for j in sources])
            for i, sources in zip(best, because(model, row.indices, best), strict=True)]


def similar_items(model: Blend, index: int, k: int = 10, co_loan_weight: float = 0.5,
                  allowed: np.ndarray | None = None, item_ids: Sequence[str] | None = None) -> list[Recommendation]:
    """"Similar media" for the catalogue page: (1 − w) · content similarity + w · co-loan (item-kNN cosine),
    each scaled to its row maximum; an item without loans falls back to content/metadata only."""
    n_items = n_items_of(model)
    combined = np.zeros(n_items, dtype=np.float64)
    content, co_loan = model.components.get("content"), model.components.get("itemknn")
    content_row = _scaled(content.neighbours(index)) if isinstance(content, ContentSimilarity) else None
    loan_row = _scaled(co_loan.neighbours(index)) if isinstance(co_loan, ItemKNN) else None
    if loan_row is None or not loan_row.any():
        co_loan_weight = 0.0 if content_row is not None else 1.0
    if content_row is not None:
        combined += (1.0 - co_loan_weight) * content_row
    if loan_row is not None:
        combined += co_loan_weight * loan_row
    combined[combined <= 0] = -np.inf
    combined[index] = -np.inf
    if allowed is not None:
        combined[~np.asarray(allowed, dtype=bool)] = -np.inf
    return [Recommendation(name(i, item_ids), float(combined[i])) for i in top_k(combined, k)]


def _scaled(row: np.ndarray) -> np.ndarray:
    top = row.max(initial=0.0)
    return row / top if top > 0 else row


def save(model: Recommender, path: str | Path, item_ids: Sequence[str] | None = None) -> Path:
    """Write ``model`` (and optionally the item ids of its columns) to the directory ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    params, arrays = model.state()
    dense: dict[str, Any] = {key: np.asarray(value) for key, value in arrays.items() if not sp.issparse(value)}
    sparse = sorted(key for key, value in arrays.items() if sp.issparse(value))
    for number, key in enumerate(sparse):
        sp.save_npz(path / f"sparse_{number}.npz", sp.csr_matrix(arrays[key]))
    np.savez(path / "arrays.npz", **dense)
    meta = {"kind": model.kind, "params": params, "sparse": sparse,
            "items": list(item_ids) if item_ids is not None else None}
    (path / "model.json").write_text(json.dumps(meta, ensure_ascii=False))
    return path


def load(path: str | Path) -> Recommender:
    """Read a model written by :func:`save`."""
    path = Path(path)
    meta = _meta(path)
    with np.load(path / "arrays.npz", allow_pickle=False) as stored:
        arrays: Arrays = {key: stored[key] for key in stored.files}
    for number, key in enumerate(meta["sparse"]):
        arrays[key] = sp.load_npz(path / f"sparse_{number}.npz").tocsr()
    return KINDS[meta["kind"]].from_state(meta["params"], arrays)


def load_item_ids(path: str | Path) -> list[str] | None:
    """The item ids saved with a model (column order), if any."""
    return _meta(Path(path))["items"]


def _meta(path: Path) -> dict[str, Any]:
    if not (path / "model.json").is_file():
        raise FileNotFoundError(f"no saved library model at {path} (model.json missing)")
    return json.loads((path / "model.json").read_text())
