"""Search questions embedded together and remembered: one model call for the questions that wait at the same
moment, and an LRU cache of question vectors (issue 19, "search under load").

Micro-batching without a timer: the first caller for a model becomes the *leader* and calls the model with every
question waiting for that model at that moment (at most ``batch`` of them); questions that arrive meanwhile wait
and go together into the next call, which one of them leads. A lone question is embedded at once – nothing waits
for a batch to fill – and under load the callers share one model call instead of queueing behind the model's lock
one by one. Each caller gets its own vector, in the order of its own texts.

The cache is keyed by (model, model version, purpose, SHA-256 of the whitespace-normalised text), so it never
holds a question's text, and a question is only ever answered with the vector the same model gave for the same
text. It holds vectors only: which collections a caller may search is decided per call, after the vector.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rathaus.core.observability import QUERY_EMBEDDING_BATCH_SIZE, QUERY_EMBEDDING_CACHE
from rathaus.models.types import EmbeddingResult

CacheKey = tuple[str, str, str, bytes]


def normalised(text: str) -> str:
    """The text as it is embedded and cached: runs of whitespace as one space, no outer whitespace."""
    return " ".join(text.split())


@dataclass
class Embedded:
    """One caller's share of a model call: its vector, its tokens and its share of the call's CPU time."""

    vector: list[float]
    prompt_tokens: int
    cpu_seconds: float | None
    batch_size: int


@dataclass
class _Waiting:
    text: str
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to call the model for the next batch
    result: Embedded | None = None
    error: BaseException | None = None


@dataclass
class _Queue:
    waiting: list[_Waiting] = field(default_factory=list)
    busy: bool = False  # a leader is calling the model


class QueryEmbeddings:
    """Per process, shared by all threads: the micro-batcher and the LRU cache of question vectors.

    ``cache_size`` 0 switches the cache off; ``batch`` 1 switches batching off (one model call per question)."""

    def __init__(self, cache_size: int = 4096, batch: int = 32):
        self.cache_size = max(0, cache_size)
        self.batch = max(1, batch)
        self._cache: OrderedDict[CacheKey, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._queues: dict[str, _Queue] = {}
        self._lock = threading.Lock()

    # --- cache -----------------------------------------------------------------------------------------------
    @staticmethod
    def key(model: str, version: str, purpose: str, text: str) -> CacheKey:
        return model, version, purpose, hashlib.sha256(normalised(text).encode("utf-8")).digest()

    def cached(self, key: CacheKey) -> list[float] | None:
        """The vector stored under ``key`` (counted as a hit or a miss), None when absent or the cache is off."""
        if not self.cache_size:
            return None
        with self._cache_lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
        QUERY_EMBEDDING_CACHE.labels(key[0], "miss" if found is None else "hit").inc()
        return None if found is None else found.tolist()

    def store(self, key: CacheKey, vector: list[float]) -> None:
        if not self.cache_size:
            return
        # float32: what the embedded engines return; float64 for other providers keeps their numbers exactly
        values = np.asarray(vector, dtype=np.float32)
        if not np.array_equal(values, np.asarray(vector, dtype=np.float64)):
            values = np.asarray(vector, dtype=np.float64)
        values.setflags(write=False)
        with self._cache_lock:
            self._cache[key] = values
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def clear(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    # --- batching --------------------------------------------------------------------------------------------
    def embed(self, model: str, text: str, call: Callable[[list[str]], EmbeddingResult],
              count_tokens: Callable[[str], int] | None = None) -> Embedded:
        """``text`` embedded by ``call`` (the model's provider), together with the other questions for ``model``
        that wait now. ``count_tokens`` splits a batch's tokens when the provider does not count per text."""
        me = _Waiting(normalised(text))
        with self._lock:
            queue = self._queues.setdefault(model, _Queue())
            queue.waiting.append(me)
            if not queue.busy:
                queue.busy = True
                me.lead = True
        while True:
            if not me.lead:
                me.done.wait()
            if me.lead and me.result is None and me.error is None:
                self._lead(model, call, count_tokens)
            if me.result is not None or me.error is not None:
                break
        if me.error is not None:
            raise me.error
        return me.result  # type: ignore[return-value]  # set when no error

    def _lead(self, model: str, call: Callable[[list[str]], EmbeddingResult],
              count_tokens: Callable[[str], int] | None) -> None:
        """Call the model for the waiting questions (the leader's own among them), hand each caller its part, and
        pass the lead to the first question still waiting (or give it up)."""
        with self._lock:
            queue = self._queues[model]
            batch, queue.waiting = queue.waiting[:self.batch], queue.waiting[self.batch:]
        texts = [w.text for w in batch]
        try:
            QUERY_EMBEDDING_BATCH_SIZE.labels(model).observe(len(batch))
            result = call(texts)
            if len(result.vectors) != len(texts):
                raise RuntimeError(f"model {model!r} returned {len(result.vectors)} vectors for {len(texts)} texts")
            shares = _token_shares(result, texts, count_tokens)
            cpu = result.cpu_seconds
            total = sum(shares) or 1
            for w, vector, tokens in zip(batch, result.vectors, shares, strict=True):
                w.result = Embedded(list(vector), tokens, None if cpu is None else cpu * tokens / total, len(batch))
        except BaseException as exc:  # every caller of the batch gets the error (its call is metered as failed)
            for w in batch:
                w.error = exc
        finally:
            with self._lock:
                nxt = queue.waiting[0] if queue.waiting else None
                if nxt is None:
                    queue.busy = False
                else:
                    nxt.lead = True
            for w in batch:
                w.done.set()
            if nxt is not None:
                nxt.done.set()


def _token_shares(result: EmbeddingResult, texts: list[str], count_tokens: Callable[[str], int] | None) -> list[int]:
    """Each text's tokens: the provider's own count per text, else ``count_tokens``, else the batch's tokens split
    by characters (the parts add up to the batch's count)."""
    if result.tokens_per_text is not None and len(result.tokens_per_text) == len(texts):
        return list(result.tokens_per_text)
    if len(texts) == 1:
        return [result.prompt_tokens]
    if count_tokens is not None:
        return [count_tokens(t) for t in texts]
    chars = [max(1, len(t)) for t in texts]
    total = sum(chars)
    shares = [result.prompt_tokens * c // total for c in chars]
    shares[0] += result.prompt_tokens - sum(shares)
    return shares
