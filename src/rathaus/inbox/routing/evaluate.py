"""How well routing works on labelled data: macro-F1, accuracy, the share routed automatically at ≥ 95 %
precision, a confusion-matrix plot, and stratified k-fold cross-validation.

Protocol (``cross_validate``): in each outer fold the classifier is trained on the other folds and tunes itself
only on them (the routing model: out-of-fold predictions of an inner split choose the combination, fit the
temperature and calibrate the 95 %-precision thresholds); the held-out fold is predicted once, and the share
routed automatically and the precision actually reached are measured there – a threshold is never measured on
the data it was calibrated on.

Loaders for the two public data sets of the benchmark (``bench/inbox_routing.py``): GermEval 2017 (real German
customer feedback to a rail operator – the nearest real stand-in for citizen requests, not mail to a city) and
MASSIVE de-DE (voice-assistant utterances: a smoke test of many-class routing).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold

from rathaus.inbox.routing.calibration import threshold_for_precision
from rathaus.inbox.routing.data import TrainingRow
from rathaus.inbox.routing.model import RELEVANT, TARGET_PRECISION, Embed, train
from rathaus.inbox.taxonomy import Taxonomy

MIN_AREA_DOCS = 20  # GermEval service areas with fewer documents are merged into "other"
OTHER = "other"
# The AmazonScience/massive loader's ``_INTENTS`` (its ClassLabel order = the integer ids in massive-de/*.tsv).
MASSIVE_INTENTS = (
    "datetime_query", "iot_hue_lightchange", "transport_ticket", "takeaway_query", "qa_stock", "general_greet",
    "recommendation_events", "music_dislikeness", "iot_wemo_off", "cooking_recipe", "qa_currency",
    "transport_traffic", "general_quirky", "weather_query", "audio_volume_up", "email_addcontact", "takeaway_order",
    "email_querycontact", "iot_hue_lightup", "recommendation_locations", "play_audiobook", "lists_createoradd",
    "news_query", "alarm_query", "iot_wemo_on", "general_joke", "qa_definition", "social_query", "music_settings",
    "audio_volume_other", "calendar_remove", "iot_hue_lightdim", "calendar_query", "email_sendemail", "iot_cleaning",
    "audio_volume_down", "play_radio", "cooking_query", "datetime_convert", "qa_maths", "iot_hue_lightoff",
    "iot_hue_lighton", "transport_query", "music_likeness", "email_query", "play_music", "audio_volume_mute",
    "social_post", "alarm_set", "qa_factoid", "calendar_set", "play_game", "alarm_remove", "lists_remove",
    "transport_taxi", "recommendation_movies", "iot_coffee", "music_query", "play_podcasts", "lists_query",
)


@dataclass
class Predictions:
    """What a classifier said about held-out messages: label, confidence, and the threshold it calibrated on its
    own training part (per message, since the routing model has one per department; math.inf: never alone)."""

    labels: list[str]
    confidences: NDArray[np.float64]
    thresholds: NDArray[np.float64]
    # The label routed automatically when it differs from ``labels`` (a baseline whose threshold was calibrated on
    # its fold models routes with them; its single refitted model gives ``labels``); None: ``labels``.
    auto_labels: list[str] | None = None


FitPredict = Callable[[Sequence[TrainingRow], Sequence[TrainingRow]], Predictions]


@dataclass
class Scores:
    """Figures of one evaluation (pooled over folds where cross-validated)."""

    n: int
    macro_f1: float
    accuracy: float
    auto_share: float  # share of messages at or above their threshold
    auto_precision: float | None  # share of those that were right (None: nothing routed)
    routed: int
    fold_macro_f1: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    y_true: list[str] = field(default_factory=list)
    y_pred: list[str] = field(default_factory=list)

    @property
    def macro_f1_std(self) -> float:
        return float(np.std(self.fold_macro_f1)) if self.fold_macro_f1 else 0.0

    def as_dict(self, prefix: str = "") -> dict[str, Any]:
        return {f"{prefix}macro_f1": self.macro_f1, f"{prefix}macro_f1_fold_std": self.macro_f1_std,
                f"{prefix}accuracy": self.accuracy, f"{prefix}auto_route_share_at_p95": self.auto_share,
                f"{prefix}auto_route_precision_reached": self.auto_precision, f"{prefix}n": self.n}


def score(y_true: Sequence[str], pred: Predictions) -> Scores:
    """Macro-F1 and accuracy of ``pred`` against ``y_true``, and the automatic share at its thresholds."""
    labels = sorted(set(y_true) | set(pred.labels))
    correct = np.array([t == p for t, p in zip(y_true, pred.auto_labels or pred.labels, strict=True)])
    routed = pred.confidences >= pred.thresholds
    n_routed = int(routed.sum())
    return Scores(n=len(y_true), macro_f1=float(f1_score(y_true, pred.labels, average="macro", labels=labels,
                                                         zero_division=0)),
                  accuracy=float(accuracy_score(y_true, pred.labels)),
                  auto_share=n_routed / len(y_true) if len(y_true) else 0.0,
                  auto_precision=float(correct[routed].mean()) if n_routed else None, routed=n_routed,
                  labels=labels, y_true=list(y_true), y_pred=list(pred.labels))


def cross_validate(rows: Sequence[TrainingRow], label: Callable[[TrainingRow], str], fit_predict: FitPredict,
                   k: int = 5, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> Scores:
    """Stratified ``k``-fold cross-validation of ``fit_predict`` (trained and tuned on k-1 folds, predicting the
    last); figures pooled over all held-out predictions, plus macro-F1 per fold."""
    y = [label(r) for r in rows]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    pred_labels: list[str] = [""] * len(rows)
    auto_labels: list[str] = [""] * len(rows)
    conf = np.zeros(len(rows))
    thr = np.zeros(len(rows))
    per_fold = []
    for i, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y)):
        pred = fit_predict([rows[j] for j in tr], [rows[j] for j in te])
        for j, p, a, c, t in zip(te, pred.labels, pred.auto_labels or pred.labels, pred.confidences,
                                 pred.thresholds, strict=True):
            pred_labels[j], auto_labels[j], conf[j], thr[j] = p, a, c, t
        per_fold.append(float(f1_score([y[j] for j in te], pred.labels, average="macro", zero_division=0)))
        if progress:
            progress(i + 1, k)
    out = score(y, Predictions(pred_labels, conf, thr, auto_labels))
    out.fold_macro_f1 = per_fold
    return out


def routing_fit_predict(embed: Embed | None, task: str, taxonomy: Taxonomy | None = None, folds: int = 5,
                        target: float = TARGET_PRECISION, views: Sequence[int] | None = None) -> FitPredict:
    """``fit_predict`` for ``cross_validate`` with rathaus' routing model; ``task`` "category" (confidence: the
    department's, threshold: the department's) or "relevance" (threshold calibrated on the training part's
    out-of-fold relevance predictions). ``views``: dimensions of each embedder's part of ``embed``'s vectors."""
    if task not in ("category", "relevance"):
        raise ValueError(f"task must be 'category' or 'relevance', not {task!r}")

    def fit_predict(train_rows: Sequence[TrainingRow], test_rows: Sequence[TrainingRow]) -> Predictions:
        model = train(train_rows, embed, taxonomy, folds=folds, target_precision=target, embedding_views=views)
        suggestions = model.predict([r.text for r in test_rows])
        if task == "category":
            assert model.category is not None
            labels = [s.category or "" for s in suggestions]
            conf = np.array([s.confidence or 0.0 for s in suggestions])
            thr = np.array([model.department_threshold(s.department or "") for s in suggestions])
            return Predictions(labels, conf, thr)
        tuning = model.tuning["relevance"]
        tuned_conf = tuning.probs.max(axis=1)
        t = threshold_for_precision(tuned_conf, tuning.probs.argmax(axis=1) == tuning.labels, target)
        return Predictions([RELEVANT if s.relevant else "irrelevant" for s in suggestions],
                           np.array([s.relevant_confidence or 0.0 for s in suggestions]), np.full(len(test_rows), t))

    return fit_predict


def plot_confusion(y_true: Sequence[str], y_pred: Sequence[str], path: Path, title: str,
                   labels: Sequence[str] | None = None) -> Path:
    """A row-normalised confusion matrix (rows: true label) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(labels or sorted(set(y_true) | set(y_pred)))
    matrix = confusion_matrix(y_true, y_pred, labels=labels).astype(float)
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    size = max(5.0, 0.45 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), [f"{lb} ({int(t)})" for lb, t in zip(labels, totals[:, 0], strict=True)],
                  fontsize=8)
    if len(labels) <= 15:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if matrix[i, j]:
                    ax.text(j, i, f"{share[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "black")
    ax.set_xlabel("vorgeschlagen / predicted")
    ax.set_ylabel("richtig / true (n)")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cached(embed: Embed) -> Embed:
    """``embed`` remembering each text's vector (cross-validation embeds the same texts in every fold)."""
    memo: dict[str, NDArray[Any]] = {}

    def wrapped(texts: list[str]) -> NDArray[Any]:
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            for t, v in zip(missing, np.asarray(embed(missing)), strict=True):
                memo[t] = v
        return np.stack([memo[t] for t in texts])

    return wrapped


def evaluate_rows(rows: Sequence[TrainingRow], embed: Embed | None, taxonomy: Taxonomy | None = None, k: int = 5,
                  plot: Path | None = None, seed: int = 0, inner_folds: int = 5) -> dict[str, Any]:
    """``rathaus inbox eval``: cross-validated figures of the routing model on labelled rows – category (rows
    with one) and relevance (when both values occur) – and optionally the category confusion plot.
    ``inner_folds``: the out-of-fold split each training part tunes and calibrates on."""
    out: dict[str, Any] = {"rows": len(rows), "folds": k,
                           "protocol": f"stratified {k}-fold; thresholds calibrated inside each training part, "
                                       "share and precision measured on the held-out fold"}
    embed = cached(embed) if embed is not None else None
    cat_rows = [r for r in rows if r.category is not None and r.relevant is not False]
    counts = Counter(r.category for r in cat_rows)
    if len(counts) >= 2:
        if min(counts.values()) < k:
            raise ValueError(f"every category needs at least {k} rows for {k}-fold evaluation; too few: "
                             + ", ".join(f"{c} ({n})" for c, n in sorted(counts.items()) if n < k))
        s = cross_validate(cat_rows, lambda r: str(r.category),
                           routing_fit_predict(embed, "category", taxonomy, inner_folds), k, seed)
        out |= s.as_dict("category_")
        if plot is not None:
            plot_confusion(s.y_true, s.y_pred, plot, f"Routing: {len(cat_rows)} messages, {k}-fold CV")
            out["plot"] = str(plot)
    rel_rows = [r for r in rows if r.relevant is not None]
    if len({r.relevant for r in rel_rows}) == 2:
        s = cross_validate(rel_rows, lambda r: RELEVANT if r.relevant else "irrelevant",
                           routing_fit_predict(embed, "relevance", taxonomy, inner_folds), k, seed)
        out |= s.as_dict("relevance_")
    return out


# --- public data sets ---------------------------------------------------------------------------------------

def load_germeval(path: Path, task: str) -> list[TrainingRow]:
    """GermEval 2017 ``dev.tsv`` as rows. ``task`` "relevance": every document with its relevance flag;
    "service_area": documents whose categories name an area other than ``Allgemein`` (the first such is the
    label), areas with fewer than 20 documents merged into "other"."""
    with path.open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not records or not {"text", "relevance", "categories"} <= set(records[0]):
        raise ValueError(f"{path}: expected columns text, relevance, categories")
    if task == "relevance":
        return [TrainingRow(r["text"], None, r["relevance"].strip().lower() == "true") for r in records]
    if task != "service_area":
        raise ValueError(f"task must be 'relevance' or 'service_area', not {task!r}")
    labelled = []
    for r in records:
        areas = [c for c in (r["categories"] or "").split("|") if c and c != "Allgemein"]
        if areas:
            labelled.append((r["text"], areas[0]))
    counts = Counter(a for _, a in labelled)
    return [TrainingRow(t, a if counts[a] >= MIN_AREA_DOCS else OTHER, True) for t, a in labelled]


def load_massive(directory: Path) -> dict[str, list[TrainingRow]]:
    """MASSIVE de-DE ``train``/``dev``/``test`` (utterance, intent id) as rows labelled with the intent name."""
    out = {}
    for split in ("train", "dev", "test"):
        rows = []
        with (directory / f"{split}.tsv").open(encoding="utf-8", newline="") as fh:
            for line in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(line) == 2 and line[1].strip().isdigit():
                    rows.append(TrainingRow(line[0], MASSIVE_INTENTS[int(line[1])], True))
        out[split] = rows
    return out


def massive_taxonomy(intents: Sequence[str]) -> Taxonomy:
    """MASSIVE's scenarios as departments (the prefix of each intent: ``alarm_set`` → ``alarm``)."""
    return Taxonomy.from_labels(intents, {i: i.split("_", 1)[0] for i in intents})
