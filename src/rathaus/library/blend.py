"""The "rathaus" model: a weighted blend of z-scored model scores, tuned on the training loans only.

Components: a collaborative model (EASE, or ALS above ``max_ease_items`` items), item-kNN, content similarity
(when item content is given) and popularity. Weights come from a grid over the simplex, scored on a validation
split carved out of the training matrix (one random loan held out per reader, :func:`hold_out_one`); EASE's λ is
tuned on the same split first. After tuning every component is refitted on the full training matrix.

Cold start: readers with no loans get popularity plus the search signal; items with no loans get the weight of
all other components on their content similarity, so they are reachable from a reader's same-author or
similar books.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from rathaus.library.content import ContentSimilarity
from rathaus.library.metrics import Holdout, hold_out_one, objective, ranks, seen_cells
from rathaus.library.recommenders import ALS, EASE, Arrays, ItemKNN, Popularity, Recommender, as_rows
from rathaus.library.similarity import zscore_rows

L2_GRID = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0)
COLLABORATIVE = ("ease", "als", "itemknn")
#: The models a blend is made of, by ``kind``: what :meth:`Blend.from_state` rebuilds its components with
#: (``serving.KINDS`` adds the blend itself; kept here so that serving imports blend, never the other way round).
COMPONENT_KINDS: dict[str, Any] = {cls.kind: cls for cls in (Popularity, ItemKNN, EASE, ALS, ContentSimilarity)}


def tune_ease(holdout: Holdout, grid: Sequence[float] = L2_GRID) -> float:
    """λ of EASE with the best validation objective on ``holdout``."""
    best, best_l2 = -1.0, grid[0]
    for l2 in grid:
        model = EASE(l2).fit(holdout.fit)
        score = objective(ranks(model.scores(holdout.fit[holdout.users]), holdout.fit[holdout.users],
                                holdout.items))
        if score > best:
            best, best_l2 = score, l2
    return best_l2


def simplex(n: int, step: float) -> list[tuple[float, ...]]:
    """All weight vectors of length ``n`` on a grid of ``step`` that sum to 1."""
    units = round(1 / step)
    return [tuple(c / units for c in combo) for combo in itertools.product(range(units + 1), repeat=n)
            if sum(combo) == units]


def tune_weights(zscores: dict[str, np.ndarray], seen: sp.csr_matrix, targets: np.ndarray,
                 step: float = 0.1) -> dict[str, float]:
    """Blend weights (summing to 1) with the best validation objective over a ``step`` grid."""
    names = list(zscores)
    cells = seen_cells(seen)
    best, best_weights = -1.0, simplex(len(names), step)[0]
    for weights in simplex(len(names), step):
        blended: Any = sum(w * zscores[n] for w, n in zip(weights, names, strict=True) if w)
        score = objective(ranks(blended, cells, targets, copy=False))
        if score > best:
            best, best_weights = score, weights
    return dict(zip(names, best_weights, strict=True))


class Blend:
    """Weighted blend of normalised component scores (see the module docstring)."""

    kind: ClassVar[str] = "blend"

    def __init__(self, content: ContentSimilarity | None = None, weights: dict[str, float] | None = None,
                 ease_l2: float | None = None, knn_k: int = 100, max_ease_items: int = 20_000,
                 als: dict[str, Any] | None = None, search_weight: float = 1.0, seed: int = 0,
                 weight_step: float = 0.1, max_validation_users: int | None = 2000) -> None:
        self.content = content
        self.weights = weights
        self.ease_l2 = ease_l2
        self.knn_k = knn_k
        self.max_ease_items = max_ease_items
        self.als = als or {}
        self.search_weight = search_weight
        self.seed = seed
        self.weight_step = weight_step
        self.max_validation_users = max_validation_users
        self.components: dict[str, Recommender] = {}
        self.cold = np.zeros(0, dtype=bool)

    def _components(self, X: sp.csr_matrix, ease_l2: float) -> dict[str, Recommender]:
        collaborative: Recommender = EASE(ease_l2) if X.shape[1] <= self.max_ease_items else ALS(**self.als)
        components: dict[str, Recommender] = {collaborative.kind: collaborative.fit(X),
                                              "itemknn": ItemKNN(self.knn_k).fit(X)}
        if self.content is not None:
            if not self.content.similarity.shape[0]:
                self.content.fit(X)
            components["content"] = self.content
        components["popularity"] = Popularity().fit(X)
        return components

    def fit(self, X: sp.csr_matrix) -> Self:
        X = sp.csr_matrix(X, dtype=np.float32)
        if self.weights is None or (self.ease_l2 is None and X.shape[1] <= self.max_ease_items):
            self._tune(X)
        self.components = self._components(X, self.ease_l2 or L2_GRID[0])
        self.cold = np.asarray(X.sum(axis=0)).ravel() == 0
        return self

    def _tune(self, X: sp.csr_matrix) -> None:
        holdout = hold_out_one(X, self.seed, self.max_validation_users)
        if self.ease_l2 is None and X.shape[1] <= self.max_ease_items:
            self.ease_l2 = tune_ease(holdout)
        if self.weights is None:
            components = self._components(holdout.fit, self.ease_l2 or L2_GRID[0])
            rows = holdout.fit[holdout.users]
            zscores = {name: zscore_rows(model.scores(rows)) for name, model in components.items()}
            self.weights = tune_weights(zscores, rows, holdout.items, self.weight_step)

    def component_scores(self, user_rows: sp.csr_matrix) -> dict[str, np.ndarray]:
        rows = as_rows(user_rows)
        return {name: zscore_rows(model.scores(rows)) for name, model in self.components.items()}

    def scores(self, user_rows: sp.csr_matrix, search: np.ndarray | None = None) -> np.ndarray:
        """Blended scores (users × items); ``search`` (n_items or users × n_items, e.g. from
        :func:`rathaus.library.content.search_signal`) is added with ``search_weight`` after z-scoring (not tuned:
        there are no query logs to tune it on)."""
        rows = as_rows(user_rows)
        parts = self.component_scores(rows)
        weights = self.weights or {}
        summed: Any = sum(weights.get(name, 0.0) * z for name, z in parts.items())
        blended = np.asarray(summed, dtype=np.float32) + np.zeros((rows.shape[0], self.cold.size), np.float32)
        if "content" in parts and self.cold.any():
            total = sum(weights.get(name, 0.0) for name in parts)
            blended[:, self.cold] = total * parts["content"][:, self.cold]
        new_readers = np.diff(rows.indptr) == 0
        if new_readers.any():
            blended[new_readers] = parts["popularity"][new_readers]
        if search is not None:
            blended += self.search_weight * zscore_rows(np.broadcast_to(search, blended.shape))
        return blended

    def contributions(self, reader_items: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        """Per item, from the first of EASE/ALS, item-kNN (when weighted) or content that gives it a positive
        contribution from the reader's items."""
        result = np.zeros((len(reader_items), len(items)), dtype=np.float32)
        open_items = np.ones(len(items), dtype=bool)
        for name in (*COLLABORATIVE, "content"):
            model = self.components.get(name)
            if model is None or (name != "content" and (self.weights or {}).get(name, 0.0) <= 0):
                continue
            values = model.contributions(reader_items, items)
            if values is None:
                continue
            take = open_items & (values.max(axis=0, initial=0.0) > 0)
            result[:, take] = values[:, take]
            open_items &= ~take
        return result

    def state(self) -> tuple[dict[str, Any], Arrays]:
        params: dict[str, Any] = {"weights": self.weights, "ease_l2": self.ease_l2, "knn_k": self.knn_k,
                                  "max_ease_items": self.max_ease_items, "als": self.als,
                                  "search_weight": self.search_weight, "seed": self.seed, "components": {}}
        arrays: Arrays = {"cold": self.cold}
        for name, model in self.components.items():
            model_params, model_arrays = model.state()
            params["components"][name] = {"kind": model.kind, "params": model_params}
            arrays.update({f"{name}.{key}": value for key, value in model_arrays.items()})
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: Arrays) -> Self:
        kinds = {**COMPONENT_KINDS, cls.kind: cls}
        params = dict(params)
        components = params.pop("components")
        model = cls(**params)
        model.cold = np.asarray(arrays["cold"], dtype=bool)
        for name, spec in components.items():
            own = {key.split(".", 1)[1]: value for key, value in arrays.items() if key.startswith(f"{name}.")}
            model.components[name] = kinds[spec["kind"]].from_state(spec["params"], own)
        content = model.components.get("content")
        model.content = content if isinstance(content, ContentSimilarity) else None
        return model
