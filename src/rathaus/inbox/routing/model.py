"""The routing model: relevance, category (and so department), urgency and language of incoming messages.

``train(rows, embed, taxonomy)`` fits up to three calibrated heads (see ``head``): *relevance* on the rows with a
relevant flag (needs both true and false), *category* on the relevant rows with a category, *urgency* on the rows
with an urgency level (needs two levels; otherwise only the taxonomy's keywords decide). Case-worker corrections
are rows with a higher ``weight``. ``RoutingModel.predict(texts)`` gives one ``RoutingSuggestion`` per text: the
most likely department (probabilities of its categories summed), its best category, calibrated confidences,
the top-3 alternatives, and ``auto_route``: True only when the department's confidence reaches its threshold –
the taxonomy's ``confidence_threshold`` when set, else the threshold calibrated on held-out predictions for
95 % precision (``calibration.threshold_for_precision``). Everything else goes to human triage.

Language comes from ``rathaus.core.language.detect_language``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rathaus.core.language import detect_language
from rathaus.inbox.routing.calibration import threshold_for_precision
from rathaus.inbox.routing.data import TrainingRow
from rathaus.inbox.routing.head import Head, Tuning, fit_head
from rathaus.inbox.routing.store import ModelFileError, read_model_file, write_model_file
from rathaus.inbox.taxonomy import Taxonomy

Embed = Callable[[list[str]], NDArray[Any]]
RELEVANT, IRRELEVANT = "relevant", "irrelevant"
TARGET_PRECISION = 0.95
MIN_DEPARTMENT_SUPPORT = 20  # held-out predictions a department needs for its own calibrated threshold
EMBED_BATCH = 64
HEADS = ("category", "relevance", "urgency")


class RoutingError(ValueError):
    """Training or prediction is impossible with what was given (too few labels, no embedder, wrong dimension)."""


@dataclass(frozen=True)
class Alternative:
    category: str
    department: str
    confidence: float


@dataclass(frozen=True)
class RoutingSuggestion:
    """What routing suggests for one message; a case worker may correct every field."""

    category: str | None  # None: no category model (relevance-only training)
    department: str | None
    confidence: float | None  # calibrated probability of the department (its categories summed)
    category_confidence: float | None
    auto_route: bool  # confident enough to route without a human; False: human triage queue
    threshold: float | None  # the department's threshold that was applied (None: never routed alone)
    relevant: bool
    relevant_confidence: float | None  # None: no relevance model (all training rows were relevant)
    urgency: str
    urgency_confidence: float | None  # None: decided by keyword or default, not by a model
    urgency_source: str  # "model" | "keyword" | "default"
    language: str | None
    alternatives: list[Alternative] = field(default_factory=list)  # the top-3 categories

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["alternatives"] = [a.__dict__ for a in self.alternatives]
        return out


def embed_all(embed: Embed, texts: list[str], batch: int = EMBED_BATCH) -> NDArray[np.float64]:
    """Embeddings of ``texts`` in batches, L2-normalised (rows of zeros stay zeros)."""
    if not texts:
        raise RoutingError("no texts to embed")
    parts = [np.asarray(embed(texts[i:i + batch]), dtype=np.float64) for i in range(0, len(texts), batch)]
    out = np.concatenate(parts)
    if out.ndim != 2 or out.shape[0] != len(texts):
        raise RoutingError(f"the embedder returned shape {out.shape} for {len(texts)} texts")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.asarray(out / np.where(norms > 0, norms, 1.0), dtype=np.float64)


@dataclass
class RoutingModel:
    taxonomy: Taxonomy
    category: Head | None
    relevance: Head | None
    urgency: Head | None
    thresholds: dict[str, float]  # calibrated per department (math.inf: never alone)
    global_threshold: float
    embedding_dim: int | None  # None: trained without embeddings
    info: dict[str, Any] = field(default_factory=dict)  # rows, sources, choices, trained_at, embedding model …
    embed: Embed | None = None  # not saved: attach the platform's embedder after loading
    tuning: dict[str, Tuning] = field(default_factory=dict)  # not saved: held-out predictions of training

    # --- prediction ------------------------------------------------------------------------------------------
    @property
    def uses_embeddings(self) -> bool:
        return any(h is not None and h.uses_embeddings for h in (self.category, self.relevance, self.urgency))

    def _embeddings(self, texts: list[str]) -> NDArray[np.float64] | None:
        if not self.uses_embeddings:
            return None
        if self.embed is None:
            raise RoutingError("this routing model uses sentence embeddings: attach an embedder (model.embed = …, "
                               "or RoutingModel.load(path, embed=…))")
        emb = embed_all(self.embed, texts)
        if emb.shape[1] != self.embedding_dim:
            raise RoutingError(f"the embedder gives {emb.shape[1]} dimensions, the model was trained with "
                               f"{self.embedding_dim} ({self.info.get('embedding_model') or 'unknown model'})")
        return emb

    def department_threshold(self, department: str) -> float:
        """The taxonomy's fixed threshold when set, else the calibrated one (math.inf: never alone)."""
        configured = _maybe(lambda: self.taxonomy.department(department).confidence_threshold)
        if configured is not None:
            return float(configured)
        return self.thresholds.get(department, self.global_threshold)

    def category_probs(self, texts: list[str], emb: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """Calibrated category probabilities (rows: texts, columns: ``self.category.classes``)."""
        if self.category is None:
            raise RoutingError("this model has no category head")
        return self.category.predict_proba(texts, emb if emb is not None else self._embeddings(texts))

    def predict(self, texts: Sequence[str], emb: NDArray[np.float64] | None = None) -> list[RoutingSuggestion]:
        """Suggestions for ``texts``; ``emb``: their sentence vectors when the caller has them already (one row per
        text, from the model's embedder), else they are computed with ``self.embed``."""
        texts = [t or "" for t in texts]
        if not texts:
            return []
        if emb is not None and self.uses_embeddings:
            emb = np.asarray(emb, dtype=np.float64)
            if emb.shape != (len(texts), self.embedding_dim):
                raise RoutingError(f"embeddings of shape {emb.shape} given for {len(texts)} texts; the model needs "
                                   f"{self.embedding_dim} dimensions")
        else:
            emb = self._embeddings(texts)
        n = len(texts)
        # confidences from the calibrated fold members, labels from the member refitted on all rows (see head)
        cat_p, cat_l = self._probs(self.category, texts, emb)
        rel_p, rel_l = self._probs(self.relevance, texts, emb)
        urg_p, urg_l = self._probs(self.urgency, texts, emb)
        out = []
        for i in range(n):
            rel_ok, rel_conf = True, None
            if rel_p is not None and rel_l is not None and self.relevance is not None:
                j = self.relevance.classes.index(RELEVANT)
                rel_ok = bool(rel_l[i, j] >= 0.5)
                rel_conf = float(rel_p[i, j]) if rel_ok else 1.0 - float(rel_p[i, j])
            category = department = None
            conf = cat_conf = None
            auto, threshold = False, None
            alternatives: list[Alternative] = []
            if cat_p is not None and self.category is not None:
                department, conf, category, cat_conf, alternatives = self._route(cat_p[i], self.category.classes,
                                                                                  cat_l[i] if cat_l is not None
                                                                                  else cat_p[i])
                t = self.department_threshold(department)
                threshold = None if math.isinf(t) else t
                auto = rel_ok and conf >= t
            urgency, urg_conf, urg_source = self.taxonomy.default_urgency, None, "default"
            if urg_p is not None and urg_l is not None and self.urgency is not None:
                k = int(urg_l[i].argmax())
                urgency, urg_conf, urg_source = self.urgency.classes[k], float(urg_p[i, k]), "model"
            keyword = self.taxonomy.urgency_from_keywords(texts[i])
            if keyword and self.taxonomy.urgency_rank(keyword) > _rank(self.taxonomy, urgency):
                urgency, urg_conf, urg_source = keyword, None, "keyword"
            out.append(RoutingSuggestion(category, department, conf, cat_conf, auto, threshold, rel_ok, rel_conf,
                                         urgency, urg_conf, urg_source, detect_language(texts[i], short=True),
                                         alternatives))
        return out

    @staticmethod
    def _probs(head: Head | None, texts: list[str], emb: NDArray[np.float64] | None
               ) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None]:
        """(calibrated probabilities, probabilities whose arg-max is the label) of ``head``, or (None, None)."""
        if head is None:
            return None, None
        calibrated = head.predict_proba(texts, emb)
        return calibrated, (calibrated if head.full is None else head.label_proba(texts, emb))

    def _route(self, probs: NDArray[np.float64], classes: list[str], label_probs: NDArray[np.float64]
               ) -> tuple[str, float, str, float, list[Alternative]]:
        """Department and category by ``label_probs``; their confidences from the calibrated ``probs``."""
        dept_of = [self.taxonomy.department_of(c) for c in classes]
        totals: dict[str, float] = {}
        votes: dict[str, float] = {}
        for d, p, q in zip(dept_of, probs, label_probs, strict=True):
            totals[d] = totals.get(d, 0.0) + float(p)
            votes[d] = votes.get(d, 0.0) + float(q)
        department = max(votes, key=votes.__getitem__)
        inside = [j for j, d in enumerate(dept_of) if d == department]
        best = max(inside, key=lambda j: label_probs[j])
        top = np.argsort(-probs, kind="stable")[:3]
        alternatives = [Alternative(classes[j], dept_of[j], float(probs[j])) for j in top]
        return department, totals[department], classes[best], float(probs[best]), alternatives

    # --- persistence -----------------------------------------------------------------------------------------
    def save(self, path: Path, key: bytes | None = None) -> Path:
        """Write the model to ``path`` (a zip of JSON and numpy arrays, no pickle; see ``store``); ``key`` signs it."""
        meta = {
            "taxonomy": self.taxonomy.model_dump(mode="json"),
            "heads": {n: h.meta() for n in HEADS if (h := getattr(self, n)) is not None},
            "thresholds": {d: None if math.isinf(t) else t for d, t in self.thresholds.items()},
            "global_threshold": None if math.isinf(self.global_threshold) else self.global_threshold,
            "embedding_dim": self.embedding_dim,
            "info": self.info,
        }
        arrays: dict[str, Any] = {}
        for name in HEADS:
            head = getattr(self, name)
            if head is not None:
                arrays |= head.arrays(name)
        return write_model_file(path, meta, arrays, key)

    @classmethod
    def load(cls, path: Path, embed: Embed | None = None, key: bytes | None = None) -> RoutingModel:
        """Read a saved model (``ModelFileError`` when altered, unsigned while ``key`` is given, or foreign)."""
        meta, arrays = read_model_file(path, key)
        try:
            heads = {n: Head.from_saved(meta["heads"][n], arrays, n) if n in meta["heads"] else None
                     for n in HEADS}
            return cls(taxonomy=Taxonomy.model_validate(meta["taxonomy"]),
                       category=heads["category"], relevance=heads["relevance"], urgency=heads["urgency"],
                       thresholds={d: math.inf if t is None else float(t) for d, t in meta["thresholds"].items()},
                       global_threshold=math.inf if meta["global_threshold"] is None
                       else float(meta["global_threshold"]),
                       embedding_dim=meta["embedding_dim"], info=meta.get("info", {}), embed=embed)
        except Exception as exc:  # hashes matched, yet not a model of this shape: a foreign or broken writer
            raise ModelFileError(f"{Path(path).name}: model content unreadable: {exc.__class__.__name__}: "
                                 f"{exc}") from None


def _maybe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except KeyError:
        return None


def _rank(taxonomy: Taxonomy, key: str) -> int:
    try:
        return taxonomy.urgency_rank(key)
    except ValueError:
        return -1


def department_thresholds(tuning: Tuning, classes: list[str], taxonomy: Taxonomy,
                          target: float = TARGET_PRECISION) -> tuple[dict[str, float], float]:
    """Per-department thresholds for ``target`` precision from held-out predictions (a department with fewer
    than ``MIN_DEPARTMENT_SUPPORT`` predictions gets the global one), and the global threshold."""
    dept_of = np.array([taxonomy.department_of(c) for c in classes])
    departments = sorted(set(dept_of.tolist()))
    col = {d: np.flatnonzero(dept_of == d) for d in departments}
    dept_probs = np.column_stack([tuning.probs[:, col[d]].sum(axis=1) for d in departments])
    predicted = dept_probs.argmax(axis=1)
    conf = dept_probs.max(axis=1)
    truth = np.array([departments.index(d) for d in dept_of[tuning.labels]])
    correct = predicted == truth
    global_t = threshold_for_precision(conf, correct, target)
    out = {}
    for j, d in enumerate(departments):
        mine = predicted == j
        out[d] = threshold_for_precision(conf[mine], correct[mine], target) \
            if mine.sum() >= MIN_DEPARTMENT_SUPPORT else global_t
    return out, global_t


def train(rows: Sequence[TrainingRow], embed: Embed | None, taxonomy: Taxonomy | None = None, *,
          tune_rows: Sequence[TrainingRow] | None = None, folds: int = 5, seed: int = 0,
          target_precision: float = TARGET_PRECISION, embedding_model: str | None = None,
          embedding_views: Sequence[int] | None = None) -> RoutingModel:
    """Train a routing model from past requests (and corrections: rows with a higher ``weight``).

    ``embed`` maps texts to sentence vectors (the platform's gateway); None trains on TF-IDF alone.
    ``taxonomy`` maps categories to departments (None: each category its own department); every category in
    ``rows`` must be in it. ``tune_rows``: a separate tuning split for choosing the combination and calibrating;
    without it, out-of-fold predictions of ``rows`` (``folds``-fold) are used.
    """
    rows = [r for r in rows if r.text.strip()]
    if not rows:
        raise RoutingError("no training rows with text")
    cat_rows = [r for r in rows if r.category is not None and r.relevant is not False]
    if taxonomy is None:
        labels = {r.category for r in [*cat_rows, *(tune_rows or [])] if r.category}
        taxonomy = Taxonomy.from_labels(labels or {"other"})
    unknown = sorted({str(r.category) for r in cat_rows if r.category not in taxonomy.category_keys})
    if unknown:
        raise RoutingError(f"categories not in the taxonomy: {', '.join(unknown[:20])}")
    texts = [r.text for r in rows]
    emb = embed_all(embed, texts) if embed is not None else None
    tune = list(tune_rows or [])
    tune_emb = embed_all(embed, [r.text for r in tune]) if embed is not None and tune else None
    pos = {id(r): i for i, r in enumerate(rows)}
    tpos = {id(r): i for i, r in enumerate(tune)}

    def subset(selected: list[TrainingRow], label: Callable[[TrainingRow], str],
               tune_selected: list[TrainingRow]) -> tuple[Head, Tuning] | None:
        if len({label(r) for r in selected}) < 2:
            return None
        idx = [pos[id(r)] for r in selected]
        tune_part = None
        if tune_selected:
            tidx = [tpos[id(r)] for r in tune_selected]
            tune_part = ([r.text for r in tune_selected], None if tune_emb is None else tune_emb[tidx],
                         [label(r) for r in tune_selected])
        return fit_head([r.text for r in selected], None if emb is None else emb[idx],
                        [label(r) for r in selected], [r.weight for r in selected], tune_part, folds, seed,
                        views=embedding_views)

    def rel_label(r: TrainingRow) -> str:
        return RELEVANT if r.relevant else IRRELEVANT

    info: dict[str, Any] = {"rows": len(rows), "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            "embedding_model": embedding_model, "target_precision": target_precision,
                            "embedding_views": list(embedding_views) if embedding_views else None,
                            "corrections": sum(1 for r in rows if r.weight != 1.0)}
    category = subset(cat_rows, lambda r: str(r.category),
                      [r for r in tune if r.category is not None and r.relevant is not False])
    relevance = subset([r for r in rows if r.relevant is not None], rel_label,
                       [r for r in tune if r.relevant is not None])
    urgency = subset([r for r in rows if r.urgency is not None], lambda r: str(r.urgency),
                     [r for r in tune if r.urgency is not None])
    if category is None and relevance is None:
        raise RoutingError("nothing to learn: need at least two categories, or relevant rows and irrelevant rows")
    thresholds: dict[str, float] = {}
    global_t = math.inf
    for name, fitted in (("category", category), ("relevance", relevance), ("urgency", urgency)):
        if fitted is not None:
            info[name] = {"rows": len(fitted[1].labels), "tuned_on": fitted[1].source,
                          "choice": fitted[0].choice.as_dict(), "temperature": fitted[0].temperature,
                          "candidates_macro_f1": fitted[1].scores}
    if category is not None:
        thresholds, global_t = department_thresholds(category[1], category[0].classes, taxonomy, target_precision)
    model = RoutingModel(taxonomy, category[0] if category else None, relevance[0] if relevance else None,
                         urgency[0] if urgency else None, thresholds, global_t,
                         None if emb is None else int(emb.shape[1]), info, embed,
                         {n: f[1] for n, f in (("category", category), ("relevance", relevance),
                                               ("urgency", urgency)) if f})
    return model
