"""Collaborative recommenders on the readers × items loan matrix: popularity, item-kNN, EASE and ALS.

All share one small protocol (:class:`Recommender`): ``fit(X)`` on a binary csr readers × items matrix, then
``scores(user_rows)`` for any csr rows over the same items (a reader's loans; new readers are just rows) returning
a dense users × items array. ``contributions(reader_items, items)`` says how much each of the reader's items adds
to the score of each of ``items`` (reader items × items; used for "because you borrowed …");
``state()``/``from_state()`` feed :func:`rathaus.library.serving.save` (numpy arrays and a JSON of parameters,
no pickle).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Self

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from rathaus.library.similarity import cosine_rows, top_k_neighbours

Arrays = dict[str, np.ndarray | sp.spmatrix]


class Recommender(Protocol):
    kind: ClassVar[str]

    def fit(self, X: sp.csr_matrix) -> Self: ...

    def scores(self, user_rows: sp.csr_matrix) -> np.ndarray: ...

    def contributions(self, reader_items: np.ndarray, items: np.ndarray) -> np.ndarray | None: ...

    def state(self) -> tuple[dict[str, Any], Arrays]: ...

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: Arrays) -> Self: ...


def as_rows(user_rows: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix(user_rows, dtype=np.float32)


class Popularity:
    """Baseline: every reader gets the most borrowed items (share of readers who borrowed each item)."""

    kind: ClassVar[str] = "popularity"

    def __init__(self) -> None:
        self.popularity = np.zeros(0, dtype=np.float32)

    def fit(self, X: sp.csr_matrix) -> Self:
        self.popularity = np.asarray(X.sum(axis=0), dtype=np.float32).ravel() / max(X.shape[0], 1)
        return self

    def scores(self, user_rows: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.popularity, (user_rows.shape[0], 1))

    def contributions(self, reader_items: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        return None

    def state(self) -> tuple[dict[str, Any], Arrays]:
        return {}, {"popularity": self.popularity}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: Arrays) -> Self:
        model = cls()
        model.popularity = np.asarray(arrays["popularity"], dtype=np.float32)
        return model


class SimilarityModel:
    """Scores = user_rows @ S for a sparse item × item similarity S (row: source item, column: recommended item)."""

    kind: ClassVar[str] = "similarity"

    def __init__(self) -> None:
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)

    def scores(self, user_rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray((as_rows(user_rows) @ self.similarity).toarray(), dtype=np.float32)

    def contributions(self, reader_items: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        return self.similarity[reader_items][:, items].toarray()

    def neighbours(self, item: int) -> np.ndarray:
        """Dense similarity of ``item`` to all items."""
        return self.similarity[[item]].toarray().ravel()

    def state(self) -> tuple[dict[str, Any], Arrays]:
        return self.params(), {"similarity": self.similarity}

    def params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: Arrays) -> Self:
        model = cls(**params)
        model.similarity = sp.csr_matrix(arrays["similarity"], dtype=np.float32)
        return model


class ItemKNN(SimilarityModel):
    """Item-based kNN: cosine similarity of the items' reader columns, the ``k`` nearest neighbours per item."""

    kind: ClassVar[str] = "itemknn"

    def __init__(self, k: int = 100) -> None:
        super().__init__()
        self.k = k

    def fit(self, X: sp.csr_matrix) -> Self:
        self.similarity = top_k_neighbours(X.shape[1], cosine_rows(sp.csr_matrix(X.T)), self.k)
        return self

    def params(self) -> dict[str, Any]:
        return {"k": self.k}


class EASE:
    """EASE (Steck 2019): B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, diag(B) = 0; scores = X·B.
    Dense n_items² — meant for catalogues up to ~20k items."""

    kind: ClassVar[str] = "ease"

    def __init__(self, l2: float = 500.0) -> None:
        self.l2 = l2
        self.B = np.zeros((0, 0), dtype=np.float32)

    def fit(self, X: sp.csr_matrix) -> Self:
        gram = (X.T @ X).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        P = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        B = -P / np.diag(P)
        B[np.diag_indices_from(B)] = 0.0
        self.B = np.ascontiguousarray(B, dtype=np.float32)  # LAPACK returns Fortran order: slow row products
        return self

    def scores(self, user_rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray(as_rows(user_rows) @ self.B, dtype=np.float32)

    def contributions(self, reader_items: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        return self.B[np.ix_(reader_items, items)]

    def state(self) -> tuple[dict[str, Any], Arrays]:
        return {"l2": self.l2}, {"B": self.B}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: Arrays) -> Self:
        model = cls(**params)
        model.B = np.ascontiguousarray(arrays["B"], dtype=np.float32)
        return model


class ALS:
    """Implicit-feedback ALS (Hu, Koren, Volinsky 2008) from the ``implicit`` package; reader factors are
    recomputed from the given rows (``recalculate_user``), so new readers need no refit."""

    kind: ClassVar[str] = "als"

    def __init__(self, factors: int = 64, iterations: int = 15, regularization: float = 0.1, alpha: float = 10.0,
                 random_state: int = 0, threads: int = 0) -> None:
        self.params = {"factors": factors, "iterations": iterations, "regularization": regularization,
                       "alpha": alpha, "random_state": random_state, "threads": threads}
        self.model = self._model()

    def _model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        with threadpool_limits(1, "blas"):  # checked by implicit at construction
            return AlternatingLeastSquares(factors=p["factors"], iterations=p["iterations"],
                                           regularization=p["regularization"], alpha=p["alpha"],
                                           random_state=p["random_state"], num_threads=p["threads"])

    def fit(self, X: sp.csr_matrix) -> Self:
        self.model = self._model()
        with threadpool_limits(1, "blas"):  # implicit's own threads; a BLAS thread pool on top slows it down
            self.model.fit(sp.csr_matrix(X, dtype=np.float32), show_progress=False)  # implicit ≥ 0.5: users × items
        return self

    @property
    def item_factors(self) -> np.ndarray:
        return np.asarray(self.model.item_factors)

    def scores(self, user_rows: sp.csr_matrix) -> np.ndarray:
        rows = as_rows(user_rows)
        users = self.model.recalculate_user(np.arange(rows.shape[0]), rows)
        return np.asarray(np.atleast_2d(users) @ self.item_factors.T, dtype=np.float32)

    def contributions(self, reader_items: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        return self.item_factors[reader_items] @ self.item_factors[items].T

    def state(self) -> tuple[dict[str, Any], Arrays]:
        return dict(self.params), {"item_factors": self.item_factors}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: Arrays) -> Self:
        model = cls(**params)
        model.model.item_factors = np.asarray(arrays["item_factors"], dtype=np.float32)
        return model
