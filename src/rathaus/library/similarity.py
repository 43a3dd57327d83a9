"""Item–item similarity helpers shared by the models: top-k cosine neighbours and per-row score normalisation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

Block = Callable[[np.ndarray], np.ndarray]
CHUNK = 1024


def keep_top_k(block: np.ndarray, rows: np.ndarray, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row of a dense block (row ``r`` of the block is item
    ``rows[r]``; its own column is dropped) as a sparse matrix of the block's shape."""
    block = np.array(block, dtype=np.float32)
    block[np.arange(len(rows)), rows] = 0.0
    k = min(k, block.shape[1])
    if k < block.shape[1]:
        cut = np.argpartition(-block, k - 1, axis=1)[:, :k]
        kept = np.zeros_like(block)
        np.put_along_axis(kept, cut, np.take_along_axis(block, cut, axis=1), axis=1)
        block = kept
    block[block < 0] = 0.0
    return sp.csr_matrix(block)


def top_k_neighbours(n_items: int, similarity_rows: Block, k: int, chunk: int = CHUNK) -> sp.csr_matrix:
    """n_items × n_items csr of each item's ``k`` most similar other items; ``similarity_rows(rows)`` returns the
    dense similarity of those items to all items (computed in chunks so memory stays at chunk × n_items)."""
    parts = []
    for start in range(0, n_items, chunk):
        rows = np.arange(start, min(start + chunk, n_items))
        parts.append(keep_top_k(similarity_rows(rows), rows, k))
    return sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, 0), dtype=np.float32)


def cosine_rows(vectors: np.ndarray | sp.spmatrix) -> Block:
    """Callable giving the cosine similarity of some rows of ``vectors`` to all rows (dense array)."""
    unit = normalize(sp.csr_matrix(vectors) if sp.issparse(vectors) else np.asarray(vectors, dtype=np.float32))

    def rows(index: np.ndarray) -> np.ndarray:
        block = unit[index] @ unit.T
        return block.toarray() if sp.issparse(block) else np.asarray(block)

    return rows


def zscore_rows(scores: np.ndarray) -> np.ndarray:
    """Standardise each row (mean 0, std 1) so that scores of different models can be added; constant rows → 0."""
    scores = np.asarray(scores, dtype=np.float32)
    std = scores.std(axis=1, keepdims=True)
    return np.divide(scores - scores.mean(axis=1, keepdims=True), std, out=np.zeros_like(scores), where=std > 0)


