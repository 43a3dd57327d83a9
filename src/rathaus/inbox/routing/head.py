"""One calibrated classifier ("head") of the routing model: relevance, category or urgency.

Two views of a message: TF-IDF of word 1-2-grams and character 2-5-grams (robust to typos, inflection and
compounds – "Wohngeldantrag", "Wohngeld-Antrag") and a sentence embedding (meaning, other languages). Two ways
to combine them, both tried: *average* – a logistic regression per view, probabilities averaged with weight
``w`` (w = 1 is TF-IDF alone, w = 0 embeddings alone) – and *concat* – one logistic regression on both views side
by side. Which combination, weight and regularisation win is decided on tuning predictions only (out-of-fold
predictions of the training rows, or a given tuning split), by macro-F1 (ties: log loss). A temperature fitted
on the same tuning predictions calibrates the confidences.

With two or more embedders (``views``: the dimensions of each embedder's part of the vector) there is no choice
to make: one logistic regression per view (TF-IDF and each embedder), probabilities averaged with equal weights
("views"). Measured on GermEval 2017 service areas (docs/benchmarks.md): choosing among the combinations above
on ~500 rows picked noisy winners (macro-F1 0.647 with one embedder), the fixed equal average of TF-IDF, USE
and e5 reached 0.667. A head without a tuning split then also keeps one member refitted on all rows (``full``):
it gives the label, while the fold members – whose out-of-fold predictions set temperature and thresholds – give
the confidence in that label.

Everything a head learned is numbers and strings (vocabularies, idf, coefficients), so it is saved without
pickle (see ``store``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from rathaus.inbox.routing.calibration import EPS, apply_temperature, fit_temperature

MAX_CHARS = 4000  # of a message read by TF-IDF (the embedder has its own limit)
TEXT_C = (4.0, 16.0)
VIEWS_C = (4.0, 8.0)  # C of the TF-IDF view and of each embedding view in "views" (the baselines' values)
EMBED_C = (1.0, 8.0)
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
WORD = {"analyzer": "word", "ngram_range": (1, 2), "max_features": 50_000}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "max_features": 150_000}

Floats = NDArray[np.float64]
URL = re.compile(r"https?://\S+|www\.\S+")
HANDLE = re.compile(r"(?<!\w)@\w+")
CLEAN = True


def clean(text: str) -> str:
    """The text TF-IDF reads: links and @handles become one token each (their characters are noise), at most
    ``MAX_CHARS`` characters."""
    if CLEAN:
        text = HANDLE.sub(" @user ", URL.sub(" http ", text))
    return text[:MAX_CHARS]


# --- features ---------------------------------------------------------------------------------------------------

@dataclass
class TextFeatures:
    """Word and character TF-IDF, fitted on one head's training texts."""

    word: TfidfVectorizer
    char: TfidfVectorizer

    @staticmethod
    def _vectorizer(spec: dict[str, Any], min_df: int) -> TfidfVectorizer:
        return TfidfVectorizer(lowercase=True, sublinear_tf=True, min_df=min_df, dtype=np.float32, **spec)

    @classmethod
    def fit(cls, texts: list[str]) -> TextFeatures:
        min_df = 2 if len(texts) >= 200 else 1
        clipped = [clean(t) for t in texts]
        return cls(cls._vectorizer(WORD, min_df).fit(clipped), cls._vectorizer(CHAR, min_df).fit(clipped))

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        clipped = [clean(t) for t in texts]
        return sp.hstack([self.word.transform(clipped), self.char.transform(clipped)], format="csr")

    def arrays(self, prefix: str) -> dict[str, NDArray[Any]]:
        out: dict[str, NDArray[Any]] = {}
        for name, vec in (("word", self.word), ("char", self.char)):
            terms = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
            out[f"{prefix}.{name}.terms"] = np.array(terms, dtype=str)
            out[f"{prefix}.{name}.idf"] = np.asarray(vec.idf_, dtype=np.float64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]], prefix: str, min_df: int = 1) -> TextFeatures:
        vecs = []
        for name, spec in (("word", WORD), ("char", CHAR)):
            vec = cls._vectorizer(spec, min_df)
            terms = arrays[f"{prefix}.{name}.terms"].tolist()
            vec.vocabulary_ = {t: i for i, t in enumerate(terms)}
            vec.idf_ = arrays[f"{prefix}.{name}.idf"]
            vecs.append(vec)
        return cls(*vecs)


@dataclass
class Linear:
    """A fitted logistic regression as plain numbers: probabilities for ``n_classes`` classes (binary: sigmoid)."""

    coef: NDArray[np.float32]  # float32 in memory as in the file: a loaded model predicts exactly the same
    intercept: Floats
    class_index: NDArray[np.int64]  # columns of the head's classes this model saw in training

    @classmethod
    def fit(cls, x: Any, y: NDArray[np.int64], weights: Floats, c: float) -> Linear:
        lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        lr.fit(x, y, sample_weight=weights)
        return cls(np.asarray(lr.coef_, dtype=np.float32), np.asarray(lr.intercept_, dtype=np.float64),
                   np.asarray(lr.classes_, dtype=np.int64))

    def proba(self, x: Any, n_classes: int) -> Floats:
        scores = np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept
        if self.coef.shape[0] == 1:  # binary
            p1 = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            seen = np.column_stack([1.0 - p1, p1])
        else:
            scores -= scores.max(axis=1, keepdims=True)
            e = np.exp(scores)
            seen = e / e.sum(axis=1, keepdims=True)
        out = np.full((seen.shape[0], n_classes), EPS)
        out[:, self.class_index] = seen
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)

    def arrays(self, prefix: str) -> dict[str, NDArray[Any]]:
        return {f"{prefix}.coef": self.coef, f"{prefix}.intercept": self.intercept,
                f"{prefix}.classes": self.class_index}

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]], prefix: str) -> Linear:
        return cls(arrays[f"{prefix}.coef"].astype(np.float32), arrays[f"{prefix}.intercept"].astype(np.float64),
                   arrays[f"{prefix}.classes"].astype(np.int64))


# --- the head -----------------------------------------------------------------------------------------------

@dataclass
class Choice:
    """The combination chosen on tuning predictions."""

    mode: str  # "average" | "concat" | "views"
    c_text: float
    c_embed: float | None = None
    weight: float = 1.0  # share of the TF-IDF model in "average"
    views: list[int] | None = None  # "views": dimensions of each embedder's part of the vector

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "c_text": self.c_text, "c_embed": self.c_embed, "weight": self.weight,
                "views": self.views}

    def view_slices(self) -> list[slice]:
        bounds = np.cumsum([0, *(self.views or [])])
        return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


@dataclass
class Tuning:
    """Held-out predictions a head was tuned and calibrated on (true class index, calibrated probabilities)."""

    labels: NDArray[np.int64]
    probs: Floats
    source: str  # "out-of-fold (k=5)" or "tuning split"
    scores: dict[str, float] = field(default_factory=dict)  # macro-F1 of each candidate tried


@dataclass
class Member:
    """The regressions of one fit: the TF-IDF view, the embedding view, or both side by side."""

    text: Linear | None = None
    embed: Linear | None = None
    concat: Linear | None = None
    views: list[Linear] = field(default_factory=list)  # "views": one per embedder

    def named(self) -> dict[str, Linear]:
        out = {n: m for n in ("text", "embed", "concat") if (m := getattr(self, n)) is not None}
        return out | {f"view{j}": m for j, m in enumerate(self.views)}

    @classmethod
    def from_named(cls, models: dict[str, Linear]) -> Member:
        views = [models[f"view{j}"] for j in range(sum(1 for n in models if n.startswith("view")))]
        return cls(models.get("text"), models.get("embed"), models.get("concat"), views)

    @classmethod
    def pick(cls, models: dict[tuple[str, float], Linear], choice: Choice) -> Member:
        if choice.mode == "views":
            assert choice.c_embed is not None
            return cls(text=models[("text", choice.c_text)],
                       views=[models[(f"view{j}", choice.c_embed)] for j in range(len(choice.views or []))])
        if choice.mode == "concat":
            return cls(concat=models[("concat", choice.c_text)])
        return cls(text=models[("text", choice.c_text)] if choice.weight > 0 else None,
                   embed=models[("embed", choice.c_embed or 0.0)] if choice.weight < 1 else None)


@dataclass
class Head:
    """A calibrated classifier: the chosen combination, fitted once per tuning fold (``members``, their
    probabilities averaged – the very models whose out-of-fold predictions set the temperature and the thresholds,
    so a confidence means at prediction time what it meant in calibration) or once (with a tuning split)."""

    classes: list[str]
    choice: Choice
    temperature: float
    features: TextFeatures
    members: list[Member]
    full: Member | None = None  # refitted on all rows: gives the label (None: the members' average does)

    @property
    def uses_embeddings(self) -> bool:
        return self.choice.mode in ("concat", "views") or self.choice.weight < 1.0

    def raw_proba(self, texts: list[str], emb: Floats | None) -> Floats:
        xt = self.features.transform(texts)
        n = len(self.classes)
        return np.mean([_combine(self.choice, xt, emb, m, n) for m in self.members], axis=0)

    def predict_proba(self, texts: list[str], emb: Floats | None) -> Floats:
        """Calibrated probabilities (of the fold members, whose held-out predictions calibrated them)."""
        return apply_temperature(self.raw_proba(texts, emb), self.temperature)

    def label_proba(self, texts: list[str], emb: Floats | None) -> Floats:
        """Probabilities whose arg-max is the label: the member fitted on all rows when there is one."""
        if self.full is None:
            return self.predict_proba(texts, emb)
        return _combine(self.choice, self.features.transform(texts), emb, self.full, len(self.classes))

    def _all_members(self) -> list[tuple[str, Member]]:
        named = [(f"m{i}", m) for i, m in enumerate(self.members)]
        return named + ([("full", self.full)] if self.full is not None else [])

    def arrays(self, prefix: str) -> dict[str, NDArray[Any]]:
        out = self.features.arrays(f"{prefix}.tfidf")
        for key, member in self._all_members():
            for name, model in member.named().items():
                out |= model.arrays(f"{prefix}.{key}.{name}")
        return out

    def meta(self) -> dict[str, Any]:
        return {"classes": self.classes, "choice": self.choice.as_dict(), "temperature": self.temperature,
                "members": [list(m.named()) for m in self.members],
                "full": list(self.full.named()) if self.full is not None else None}

    @classmethod
    def from_saved(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]], prefix: str) -> Head:
        def member(key: str, names: list[str]) -> Member:
            return Member.from_named({n: Linear.from_arrays(arrays, f"{prefix}.{key}.{n}") for n in names})

        members = [member(f"m{i}", names) for i, names in enumerate(meta["members"])]
        full = member("full", meta["full"]) if meta.get("full") else None
        return cls(list(meta["classes"]), Choice(**meta["choice"]), float(meta["temperature"]),
                   TextFeatures.from_arrays(arrays, f"{prefix}.tfidf"), members, full)


def _unit(x: Floats) -> Floats:
    """Rows of one embedder's part scaled to length 1 (the joined vector was normalised as a whole)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.where(norms > 0, norms, 1.0), dtype=np.float64)


def _combine(choice: Choice, xt: Any, emb: Floats | None, member: Member, n: int) -> Floats:
    if choice.mode == "views":
        assert member.text is not None and emb is not None
        parts = [member.text.proba(xt, n)]
        parts += [m.proba(_unit(emb[:, cut]), n) for m, cut in zip(member.views, choice.view_slices(), strict=True)]
        return np.asarray(np.mean(parts, axis=0), dtype=np.float64)
    if choice.mode == "concat":
        assert member.concat is not None and emb is not None
        return member.concat.proba(sp.hstack([xt, sp.csr_matrix(emb)], format="csr"), n)
    p = np.zeros((xt.shape[0], n))
    if choice.weight > 0:
        assert member.text is not None
        p += choice.weight * member.text.proba(xt, n)
    if choice.weight < 1:
        assert member.embed is not None and emb is not None
        p += (1 - choice.weight) * member.embed.proba(emb, n)
    return p


def _candidates(has_embeddings: bool, views: Sequence[int] | None = None) -> list[Choice]:
    if has_embeddings and views is not None and len(views) >= 2:
        return [Choice("views", VIEWS_C[0], VIEWS_C[1], views=list(views))]
    if not has_embeddings:
        return [Choice("average", c) for c in TEXT_C]
    out = [Choice("average", ct, ce, w) for ct, ce, w in itertools.product(TEXT_C, EMBED_C, WEIGHTS)
           if not (w == 1.0 and ce != EMBED_C[0]) and not (w == 0.0 and ct != TEXT_C[0])]
    return out + [Choice("concat", ct) for ct in TEXT_C]


def _fit_all(xt: Any, emb: Floats | None, y: NDArray[np.int64], w: Floats, cands: list[Choice],
             ) -> dict[tuple[str, float], Linear]:
    """Every logistic regression the candidates need, keyed (view, C)."""
    needed = {("text", c.c_text) for c in cands if c.mode == "average" and c.weight > 0}
    needed |= {("embed", c.c_embed) for c in cands if c.mode == "average" and c.weight < 1 and c.c_embed}
    needed |= {("concat", c.c_text) for c in cands if c.mode == "concat"}
    slices: dict[str, slice] = {}
    for cand in cands:
        if cand.mode == "views":
            assert cand.c_embed is not None
            needed.add(("text", cand.c_text))
            for j, cut in enumerate(cand.view_slices()):
                needed.add((f"view{j}", cand.c_embed))
                slices[f"view{j}"] = cut
    models: dict[tuple[str, float], Linear] = {}
    for view, c in sorted(needed):
        if view in slices:
            assert emb is not None
            models[(view, c)] = Linear.fit(_unit(emb[:, slices[view]]), y, w, c)
        elif view == "text":
            models[(view, c)] = Linear.fit(xt, y, w, c)
        elif view == "embed":
            assert emb is not None
            models[(view, c)] = Linear.fit(emb, y, w, c)
        else:
            assert emb is not None
            models[(view, c)] = Linear.fit(sp.hstack([xt, sp.csr_matrix(emb)], format="csr"), y, w, c)
    return models


def _predict_all(models: dict[tuple[str, float], Linear], cands: list[Choice], xt: Any, emb: Floats | None,
                 n: int) -> list[Floats]:
    cache: dict[tuple[str, float], Floats] = {}

    def proba(view: str, c: float, x: Any) -> Floats:
        if (view, c) not in cache:
            cache[(view, c)] = models[(view, c)].proba(x, n)
        return cache[(view, c)]

    out = []
    for cand in cands:
        if cand.mode == "views":
            assert emb is not None and cand.c_embed is not None
            parts = [proba("text", cand.c_text, xt)]
            parts += [proba(f"view{j}", cand.c_embed, _unit(emb[:, cut])) for j, cut in enumerate(cand.view_slices())]
            out.append(np.mean(parts, axis=0))
            continue
        if cand.mode == "concat":
            assert emb is not None
            out.append(proba("concat", cand.c_text, sp.hstack([xt, sp.csr_matrix(emb)], format="csr")))
            continue
        p = np.zeros((xt.shape[0], n))
        if cand.weight > 0:
            p += cand.weight * proba("text", cand.c_text, xt)
        if cand.weight < 1:
            assert cand.c_embed is not None
            p += (1 - cand.weight) * proba("embed", cand.c_embed, emb)
        out.append(p)
    return out


def _log_loss(probs: Floats, y: NDArray[np.int64]) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], EPS, 1.0)).mean())


def fit_head(texts: list[str], emb: Floats | None, labels: list[str], weights: list[float] | Floats,
             tune: tuple[list[str], Floats | None, list[str]] | None = None, folds: int = 5,
             seed: int = 0, views: Sequence[int] | None = None) -> tuple[Head, Tuning]:
    """Fit a head on ``texts`` (with embeddings ``emb``, or None for TF-IDF only) and ``labels``.

    Candidates are compared on ``tune`` (texts, embeddings, labels) when given, else on out-of-fold predictions
    (stratified ``folds``-fold, fewer when a class is rarer). Without ``tune`` the head keeps the chosen
    combination's fold models as an ensemble (one TF-IDF vocabulary, fitted on all texts – it sees no labels);
    with ``tune`` it is fitted once on the training rows. ``views``: the dimensions of each embedder's part of
    ``emb`` when it joins several embedders (two or more: the fixed "views" average, see the module's doc).
    """
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"need at least two different labels, got {classes}")
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[v] for v in labels], dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    cands = _candidates(emb is not None, views)
    n = len(classes)
    feats = TextFeatures.fit(texts)
    xt = feats.transform(texts)
    fits: list[dict[tuple[str, float], Linear]] = []

    if tune is not None:
        t_texts, t_emb, t_labels = tune
        unknown = sorted(set(t_labels) - set(classes))
        if unknown:
            raise ValueError(f"tuning labels not seen in training: {', '.join(unknown[:10])}")
        y_tune = np.array([index[v] for v in t_labels], dtype=np.int64)
        fits.append(_fit_all(xt, emb, y, w, cands))
        tuned = _predict_all(fits[0], cands, feats.transform(t_texts), t_emb, n)
        source = "tuning split"
    else:
        smallest = min(np.bincount(y))
        k = max(2, min(folds, int(smallest)))
        y_tune = y
        tuned = [np.zeros((len(texts), n)) for _ in cands]
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        for tr, te in splitter.split(np.zeros(len(y)), y):
            fits.append(_fit_all(xt[tr], None if emb is None else emb[tr], y[tr], w[tr], cands))
            preds = _predict_all(fits[-1], cands, xt[te], None if emb is None else emb[te], n)
            for acc, p in zip(tuned, preds, strict=True):
                acc[te] = p
        source = f"out-of-fold (k={k}), fold models averaged"

    def score(p: Floats) -> tuple[float, float]:
        return (f1_score(y_tune, p.argmax(axis=1), average="macro", labels=np.arange(n), zero_division=0),
                -_log_loss(p, y_tune))

    scored = [score(p) for p in tuned]
    best = max(range(len(cands)), key=lambda i: scored[i])
    choice = cands[best]
    temperature = fit_temperature(tuned[best], y_tune)
    tuning = Tuning(y_tune, apply_temperature(tuned[best], temperature), source,
                    {_label(c): round(s[0], 4) for c, s in zip(cands, scored, strict=True)})
    full = None
    if tune is None and choice.mode == "views":
        full = Member.pick(_fit_all(xt, emb, y, w, [choice]), choice)
    head = Head(classes, choice, temperature, feats, [Member.pick(f, choice) for f in fits], full)
    return head, tuning


def _label(c: Choice) -> str:
    if c.mode == "views":
        return f"views {c.views} C_text={c.c_text:g} C_emb={c.c_embed:g}"
    if c.mode == "concat":
        return f"concat C={c.c_text:g}"
    return f"average w_tfidf={c.weight:g} C_text={c.c_text:g} C_emb={c.c_embed:g}" if c.c_embed else \
        f"tfidf C={c.c_text:g}"
