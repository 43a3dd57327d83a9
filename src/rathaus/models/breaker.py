"""A circuit breaker per model: stop sending calls to a model that keeps failing, try it again after a while.

``closed`` – calls go to the model; ``breaker_failures`` consecutive failures (unreachable, 5xx, timeouts, broken
streams; never the request's own fault such as a too-long prompt) open it. ``open`` – for
``breaker_cooldown_seconds`` no call goes to the model: the gateway sends it to a fallback cleared for the request's
data class, or refuses at once with 503. ``half-open`` – after the cool-down one trial call goes to the model; its
success closes the breaker, its failure opens it for another cool-down. A trial that never reports (its caller went
away) is given up after one cool-down and the next call becomes the trial.

The gateway audits every change of state (``model.breaker``) and counts it in Prometheus
(``rathaus_model_breaker_transitions_total``, ``rathaus_model_breaker_state``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
#: the value of the state gauge
STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class Transition:
    """A breaker changed its state."""

    model: str
    old: str
    new: str
    failures: int  # consecutive failures when it changed


class Breaker:
    """The breaker of one model; thread-safe."""

    def __init__(self, model: str, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        self.model, self.threshold, self.cooldown_s, self.clock = model, threshold, cooldown_s, clock
        self.state = CLOSED
        self.failures = 0
        self._opened_at = 0.0
        self._trial_at: float | None = None
        self._lock = threading.Lock()

    def _move(self, new: str) -> Transition:
        old, self.state = self.state, new
        if new == OPEN:
            self._opened_at = self.clock()
        if new != HALF_OPEN:
            self._trial_at = None
        return Transition(self.model, old, new, self.failures)

    def peek(self) -> bool:
        """Would a call go through now? (Takes no trial.)"""
        with self._lock:
            if self.state == CLOSED:
                return True
            if self.state == OPEN:
                return self.clock() - self._opened_at >= self.cooldown_s
            return self._trial_at is None or self.clock() - self._trial_at >= self.cooldown_s

    def allow(self) -> tuple[bool, Transition | None]:
        """May a call go to the model now? After the cool-down the first caller gets the one trial call."""
        with self._lock:
            now = self.clock()
            if self.state == CLOSED:
                return True, None
            if self.state == OPEN:
                if now - self._opened_at < self.cooldown_s:
                    return False, None
                change = self._move(HALF_OPEN)
                self._trial_at = now
                return True, change
            if self._trial_at is None or now - self._trial_at >= self.cooldown_s:  # the trial was given up
                self._trial_at = now
                return True, None
            return False, None

    def retry_after_s(self) -> int:
        """Whole seconds until the next trial call."""
        with self._lock:
            if self.state == CLOSED:
                return 0
            since = self._opened_at if self.state == OPEN else (self._trial_at or self._opened_at)
            return max(1, int(self.cooldown_s - (self.clock() - since) + 0.999))

    def success(self) -> Transition | None:
        with self._lock:
            self.failures = 0
            return self._move(CLOSED) if self.state != CLOSED else None

    def failure(self) -> Transition | None:
        with self._lock:
            self.failures += 1
            if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.threshold):
                return self._move(OPEN)
            if self.state == OPEN:  # a call let through before it opened: start the cool-down again
                self._opened_at = self.clock()
            return None

    def status(self) -> dict[str, object]:
        with self._lock:
            return {"model": self.model, "state": self.state, "failures": self.failures}


class Breakers:
    """The breakers of all models of one gateway, made on first use."""

    def __init__(self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        self.threshold, self.cooldown_s, self.clock = threshold, cooldown_s, clock
        self._breakers: dict[str, Breaker] = {}
        self._lock = threading.Lock()

    def get(self, model: str) -> Breaker:
        with self._lock:
            breaker = self._breakers.get(model)
            if breaker is None:
                breaker = self._breakers[model] = Breaker(model, self.threshold, self.cooldown_s, self.clock)
            return breaker

    def status(self) -> list[dict[str, object]]:
        with self._lock:
            breakers = list(self._breakers.values())
        return [b.status() for b in breakers]
