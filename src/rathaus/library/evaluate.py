"""Leave-one-out evaluation of the library recommenders (core of ``rathaus library eval INTERACTIONS TEST``).

Train on a ``reader<TAB>item`` file, rank every test reader's held-out item among the items they have not
borrowed, and report HitRate@k and nDCG@k, training seconds (tuning included) and the latency of single-reader
requests (:func:`rathaus.library.serving.recommend`, explanations included). Test readers or items unknown to
the training file cannot be ranked: they are counted and reported (``unknown_readers``, ``unknown_items``), and
the figures are over the remaining cases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from rathaus.library.blend import Blend, tune_ease
from rathaus.library.content import ContentSimilarity, ItemContent
from rathaus.library.interactions import Interactions, read_pairs, read_tsv
from rathaus.library.metrics import hold_out_one, ranking_figures, ranks
from rathaus.library.recommenders import ALS, EASE, ItemKNN, Popularity, Recommender
from rathaus.library.serving import recommend

Factory = Callable[[sp.csr_matrix], Recommender]
SINGLE = ("popularity", "itemknn", "ease", "als")
BLEND = "rathaus"
LATENCY_REQUESTS = 200
BATCH = 512


@dataclass
class TestCases:
    """Test pairs mapped to training rows/columns, and what could not be mapped."""

    users: np.ndarray
    items: np.ndarray
    pairs: int
    unknown_readers: int
    unknown_items: int


def test_cases(train: Interactions, pairs: Iterable[tuple[str, str]]) -> TestCases:
    users, items, total, no_reader, no_item = [], [], 0, 0, 0
    for reader, item in pairs:
        total += 1
        if reader not in train.reader_index:
            no_reader += 1
        elif item not in train.item_index:
            no_item += 1
        else:
            users.append(train.reader_index[reader])
            items.append(train.item_index[item])
    return TestCases(np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64), total, no_reader, no_item)


def default_models(content: ContentSimilarity | None = None, seed: int = 0) -> dict[str, Factory]:
    """Factories (matrix → fitted model) of the single models and the rathaus blend; EASE's λ is tuned on a
    validation split of the training matrix, inside the timed factory."""
    def ease(X: sp.csr_matrix) -> Recommender:
        return EASE(tune_ease(hold_out_one(X, seed))).fit(X)

    return {"popularity": lambda X: Popularity().fit(X), "itemknn": lambda X: ItemKNN().fit(X), "ease": ease,
            "als": lambda X: ALS(random_state=seed).fit(X),
            BLEND: lambda X: Blend(content=content, seed=seed).fit(X)}


def batched_ranks(model: Recommender, X: sp.csr_matrix, cases: TestCases) -> np.ndarray:
    parts = []
    for start in range(0, len(cases.users), BATCH):
        rows = X[cases.users[start:start + BATCH]]
        parts.append(ranks(model.scores(rows), rows, cases.items[start:start + BATCH]))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def latency_ms(model: Recommender, X: sp.csr_matrix, users: np.ndarray, requests: int = LATENCY_REQUESTS,
               seed: int = 0) -> tuple[float, float]:
    """p50 and p95 milliseconds of single-reader top-10 requests (scores, filters, explanations)."""
    chosen = np.random.default_rng(seed).permutation(users)[:requests]
    times = []
    for user in chosen:
        started = time.perf_counter()
        recommend(model, X[user].indices, k=10)
        times.append(1000 * (time.perf_counter() - started))
    if not times:
        return float("nan"), float("nan")
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def evaluate_model(name: str, factory: Factory, train: Interactions, cases: TestCases,
                   ks: Sequence[int] = (10, 20)) -> tuple[dict[str, Any], Recommender]:
    started = time.perf_counter()
    model = factory(train.matrix)
    figures: dict[str, Any] = {f"train_s_{name}": time.perf_counter() - started}
    rank = batched_ranks(model, train.matrix, cases)
    figures.update({f"{name}_{key}": value for key, value in ranking_figures(rank, ks).items()})
    figures[f"p50_ms_{name}"], figures[f"p95_ms_{name}"] = latency_ms(model, train.matrix, cases.users)
    return figures, model


def evaluate_all(train_path: str | Path, test_path: str | Path, models: dict[str, Factory] | None = None,
                 ks: Sequence[int] = (10, 20), content: Callable[[list[str]], ItemContent] | None = None,
                 seed: int = 0, fitted: dict[str, Recommender] | None = None) -> dict[str, Any]:
    """Flat figures for every model: ``<model>_hr<k>``, ``<model>_ndcg<k>``, ``train_s_<model>``,
    ``p50_ms_<model>``, ``p95_ms_<model>``, case counts, and ``rathaus_vs_best_single_<metric>`` ratios.
    ``content(item_ids)`` builds item content for the training items (enables the content component);
    ``fitted``, when given, receives the trained models by name."""
    train = read_tsv(train_path)
    cases = test_cases(train, read_pairs(test_path))
    similarity = ContentSimilarity(content(train.items)) if content is not None else None
    models = models or default_models(similarity, seed)
    result: dict[str, Any] = {"readers": train.shape[0], "items": train.shape[1], "loans": int(train.matrix.nnz),
                              "test_pairs": cases.pairs, "cases": len(cases.users),
                              "unknown_readers": cases.unknown_readers, "unknown_items": cases.unknown_items,
                              "ks": ",".join(map(str, ks)), "models": ",".join(models)}
    for name, factory in models.items():
        figures, model = evaluate_model(name, factory, train, cases, ks)
        result.update(figures)
        if fitted is not None:
            fitted[name] = model
        if isinstance(model, Blend):
            result[f"{name}_weights"] = ",".join(f"{k}:{v:.2f}" for k, v in (model.weights or {}).items())
            result[f"{name}_ease_l2"] = model.ease_l2
    result.update(blend_ratios(result, list(models), ks))
    return result


def blend_ratios(result: dict[str, Any], names: list[str], ks: Sequence[int]) -> dict[str, float]:
    """``rathaus_vs_best_single_<metric>``: the blend's figure over the best single model's."""
    singles = [n for n in names if n != BLEND]
    if BLEND not in names or not singles:
        return {}
    ratios = {}
    for metric in [f"{m}{k}" for k in ks for m in ("hr", "ndcg")]:
        best = max(result[f"{n}_{metric}"] for n in singles)
        ratios[f"{BLEND}_vs_best_single_{metric}"] = result[f"{BLEND}_{metric}"] / best if best else float("nan")
    return ratios


def format_table(result: dict[str, Any]) -> str:
    """Plain-text table of the figures of :func:`evaluate_all`."""
    ks = [int(k) for k in str(result["ks"]).split(",")]
    header = ["model", *[f"{m}@{k}" for k in ks for m in ("HR", "nDCG")], "train s", "p50 ms", "p95 ms"]
    rows = [[name, *[f"{result[f'{name}_{m}{k}']:.4f}" for k in ks for m in ("hr", "ndcg")],
             f"{result[f'train_s_{name}']:.1f}", f"{result[f'p50_ms_{name}']:.2f}",
             f"{result[f'p95_ms_{name}']:.2f}"] for name in str(result["models"]).split(",")]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{result['cases']} of {result['test_pairs']} test pairs ranked; unknown to the training file: "
                 f"{result['unknown_readers']} readers, {result['unknown_items']} items (not ranked)")
    return "\n".join(lines)


def run_eval(interactions: str | Path, test: str | Path, ks: Sequence[int] = (10, 20)) -> tuple[dict[str, Any], str]:
    """Core of ``rathaus library eval INTERACTIONS TEST [--k 10 20]``: figures and their table (no content)."""
    result = evaluate_all(interactions, test, ks=ks)
    return result, format_table(result)
