"""Threads for calls that may wait for a busy model (rathaus.models.admission), apart from the server's pool.

A chat call can wait up to the model's ``queue_timeout_seconds`` for a slot. Waiting in the server's shared thread
pool (40 threads) would let waiting callers take every thread – and the stream that holds the model needs a
thread for each of its next pieces, so the model would stall behind its own waiters, and every other synchronous
endpoint with it. Calls that may wait for a model therefore run in threads of their own limiter; the shared pool
stays free for streams in progress, searches and pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from anyio.lowlevel import RunVar

T = TypeVar("T")

#: threads that may wait for a model at once (each model's queue bounds how many really wait: 16 by default)
MODEL_CALL_THREADS = 256
_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("rathaus_model_call_limiter")  # one per event loop


def limiter() -> anyio.CapacityLimiter:
    try:
        return _LIMITER.get()
    except LookupError:
        made = anyio.CapacityLimiter(MODEL_CALL_THREADS)
        _LIMITER.set(made)
        return made


async def run_model_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a thread of the model-call limiter (not the shared pool)."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=limiter())
