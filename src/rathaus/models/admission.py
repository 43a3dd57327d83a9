"""Fair use of a scarce model: at most N calls at once, a bounded queue that serves departments in turn.

Each chat model has ``max_concurrency`` slots (catalogue; the embedded model: 1, since llama.cpp answers one
call at a time) and a waiting room of ``max_queue`` places. A call takes a slot or waits for one; when the room
is full, or it has waited ``queue_timeout_seconds``, it is refused with :class:`ModelBusy` – HTTP 429 with a
``Retry-After`` estimated from how long calls take and how many wait – instead of waiting for minutes behind
the model. When a slot frees, the department whose turn it is (round robin over the departments that wait,
first come first served within one) gets it, so one department's burst cannot starve the others.

A :class:`Slot` is released by ``release()`` (idempotent) or, as a last resort, when it is garbage-collected:
a stream that was prepared but never run, or whose client went away, gives its slot back.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import partial

from rathaus.core.errors import ModelBusy
from rathaus.core.observability import MODEL_QUEUED, MODEL_SLOTS, MODEL_SLOTS_BUSY

__all__ = ["Admission", "ModelBusy", "ModelGate", "Slot"]

#: how strongly the newest call's duration moves the estimate used for Retry-After
DURATION_SMOOTHING = 0.3


@dataclass
class _Waiter:
    department: str
    granted: bool = False
    event: threading.Event = field(default_factory=threading.Event)


class Slot:
    """One admitted call; ``release()`` when the model is done with it."""

    def __init__(self, gate: ModelGate):
        self._gate: ModelGate | None = gate
        self.model = gate.name
        self._t0 = time.monotonic()

    def release(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate._release(time.monotonic() - self._t0)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


class ModelGate:
    """The slots and the waiting room of one model."""

    def __init__(self, name: str, max_concurrency: int, max_queue: int, queue_timeout_s: float,
                 typical_call_s: float = 10.0):
        self.name, self.max_concurrency, self.max_queue = name, max_concurrency, max_queue
        self.queue_timeout_s = queue_timeout_s
        self.typical_call_s = typical_call_s  # moving estimate, for Retry-After
        self._lock = threading.Lock()
        self._running = 0
        self._waiting: OrderedDict[str, deque[_Waiter]] = OrderedDict()  # department → its waiters, in turn order

    # --- what callers use ----------------------------------------------------------------------------
    def acquire(self, department: str) -> Slot:
        """A slot now, or after waiting in turn; ModelBusy when the room is full or the wait too long."""
        with self._lock:
            if self._running < self.max_concurrency and not self._waiting:
                self._running += 1
                return Slot(self)
            if self.queued >= self.max_queue:
                raise self._busy("all places in the queue are taken")
            waiter = _Waiter(department)
            self._waiting.setdefault(department, deque()).append(waiter)
        if waiter.event.wait(self.queue_timeout_s):
            return Slot(self)
        with self._lock:
            if waiter.granted:  # granted between the timeout and the lock: keep it
                return Slot(self)
            queue = self._waiting.get(department)
            if queue is not None:
                queue.remove(waiter)
                if not queue:
                    del self._waiting[department]
            raise self._busy(f"no slot became free within {self.queue_timeout_s:g} s")

    @property
    def running(self) -> int:
        return self._running

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    def status(self) -> dict[str, object]:
        with self._lock:
            return {"model": self.name, "running": self._running, "max_concurrency": self.max_concurrency,
                    "queued": self.queued, "max_queue": self.max_queue,
                    "queued_by_department": {d: len(q) for d, q in self._waiting.items()},
                    "typical_call_s": round(self.typical_call_s, 2)}

    def retry_after_s(self) -> int:
        """Whole seconds until a place is likely free: the calls ahead × a typical call, over the slots."""
        ahead = self._running + self.queued
        return max(1, math.ceil(self.typical_call_s * ahead / self.max_concurrency))

    # --- internals ----------------------------------------------------------------------------------
    def _busy(self, why: str) -> ModelBusy:
        retry = self.retry_after_s()
        return ModelBusy(
            f"model {self.name!r} is busy ({why}); please retry in {retry} s / das Modell ist ausgelastet, "
            f"bitte in {retry} s erneut versuchen",
            headers={"Retry-After": str(retry)},
            extra={"model": self.name, "retry_after": retry, "queued": self.queued,
                   "max_queue": self.max_queue},
        )

    def _release(self, seconds: float) -> None:
        with self._lock:
            self.typical_call_s += DURATION_SMOOTHING * (seconds - self.typical_call_s)
            self._running -= 1
            self._grant_next()

    def _grant_next(self) -> None:
        """Hand free slots to the departments in turn (caller holds the lock)."""
        while self._running < self.max_concurrency and self._waiting:
            department, queue = next(iter(self._waiting.items()))
            waiter = queue.popleft()
            if queue:
                self._waiting.move_to_end(department)  # its next waiter queues behind the other departments
            else:
                del self._waiting[department]
            self._running += 1
            waiter.granted = True
            waiter.event.set()


def _running(gate: ModelGate) -> float:
    return gate.running


def _queued(gate: ModelGate) -> float:
    return gate.queued


class Admission:
    """The gates of all models of one gateway, made on first use from the catalogue's limits."""

    def __init__(self) -> None:
        self._gates: dict[str, ModelGate] = {}
        self._lock = threading.Lock()

    def gate(self, name: str, max_concurrency: int, max_queue: int, queue_timeout_s: float) -> ModelGate:
        with self._lock:
            gate = self._gates.get(name)
            if gate is None:
                gate = self._gates[name] = ModelGate(name, max_concurrency, max_queue, queue_timeout_s)
                # /metrics reads the gate when scraped (the newest gateway's gate, should a process make several)
                MODEL_SLOTS.labels(name).set(max_concurrency)
                MODEL_SLOTS_BUSY.labels(name).set_function(partial(_running, gate))
                MODEL_QUEUED.labels(name).set_function(partial(_queued, gate))
            return gate

    def status(self) -> list[dict[str, object]]:
        with self._lock:
            gates = list(self._gates.values())
        return [g.status() for g in gates]
