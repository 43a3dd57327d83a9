"""The fair waiting room of a scarce model (rathaus.models.admission): pure logic, real threads."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from rathaus.models.admission import ModelBusy, ModelGate


def wait_until_queued(gate: ModelGate, n: int) -> None:
    deadline = time.monotonic() + 10
    while gate.queued < n:
        assert time.monotonic() < deadline, f"{gate.queued} of {n} waiters queued"
        time.sleep(0.005)


def test_departments_are_served_in_turn_not_in_arrival_order() -> None:
    gate = ModelGate("m", max_concurrency=1, max_queue=10, queue_timeout_s=10)
    first = gate.acquire("IT")
    order: list[str] = []
    lock = threading.Lock()

    def call(department: str, tag: str) -> None:
        slot = gate.acquire(department)
        with lock:
            order.append(tag)
        slot.release()

    threads = []
    for i, (dep, tag) in enumerate([("KVR", "kvr1"), ("KVR", "kvr2"), ("KVR", "kvr3"), ("SOZ", "soz1")]):
        threads.append(threading.Thread(target=call, args=(dep, tag)))
        threads[-1].start()
        wait_until_queued(gate, i + 1)  # a fixed arrival order: three of KVR, then one of the social department
    first.release()
    for t in threads:
        t.join(10)
    assert order == ["kvr1", "soz1", "kvr2", "kvr3"]  # the social department did not wait behind KVR's burst
    assert gate.status()["running"] == 0 and gate.queued == 0


def test_full_waiting_room_is_refused_with_retry_after() -> None:
    gate = ModelGate("m", max_concurrency=1, max_queue=0, queue_timeout_s=10, typical_call_s=4.2)
    slot = gate.acquire("IT")
    with pytest.raises(ModelBusy) as busy:
        gate.acquire("KVR")
    exc = busy.value
    assert exc.status == 429 and exc.code == "model-busy"
    assert exc.headers["Retry-After"] == "5" and exc.extra["retry_after"] == 5  # one call ahead of ~4.2 s
    assert "retry in 5 s" in exc.detail and "erneut versuchen" in exc.detail
    slot.release()
    slot.release()  # idempotent: the count does not go below zero
    assert gate.status()["running"] == 0
    gate.acquire("KVR").release()


def test_waiting_too_long_is_refused_and_leaves_no_ghost_in_the_queue() -> None:
    gate = ModelGate("m", max_concurrency=1, max_queue=5, queue_timeout_s=0.2)
    slot = gate.acquire("IT")
    with pytest.raises(ModelBusy, match=r"within 0\.2 s"):
        gate.acquire("KVR")
    assert gate.queued == 0
    slot.release()
    assert gate.status()["running"] == 0


def test_a_dropped_slot_is_given_back() -> None:
    gate = ModelGate("m", max_concurrency=1, max_queue=0, queue_timeout_s=1)
    slot = gate.acquire("IT")
    del slot  # a stream prepared and never read
    gc.collect()
    gate.acquire("KVR").release()


def test_retry_after_grows_with_the_queue_and_learns_the_call_time() -> None:
    gate = ModelGate("m", max_concurrency=2, max_queue=10, queue_timeout_s=10, typical_call_s=10)
    assert gate.retry_after_s() == 1  # nothing ahead
    a, b = gate.acquire("IT"), gate.acquire("IT")
    assert gate.retry_after_s() == 10  # two ahead, two slots
    a.release()
    b.release()
    assert gate.typical_call_s < 10  # the quick calls pulled the estimate down
