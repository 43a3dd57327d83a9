"""/metrics shows each model's slots, busy slots and queue (rathaus.models.admission → rathaus.core.observability)."""

from __future__ import annotations

import threading
import time

from prometheus_client import REGISTRY

from rathaus.models.admission import Admission


def sample(name: str, model: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"model": model})


def test_busy_slots_and_queue_are_exported_while_calls_wait() -> None:
    admission = Admission()
    gate = admission.gate("metrics-test-model", max_concurrency=1, max_queue=4, queue_timeout_s=10)
    assert sample("rathaus_model_slots", "metrics-test-model") == 1
    assert sample("rathaus_model_slots_busy", "metrics-test-model") == 0
    assert sample("rathaus_model_queued", "metrics-test-model") == 0

    held = gate.acquire("KVR")
    waiter = threading.Thread(target=lambda: gate.acquire("SOZ").release())
    waiter.start()
    deadline = time.monotonic() + 10
    while gate.queued < 1:
        assert time.monotonic() < deadline, "the second call never queued"
        time.sleep(0.005)
    assert sample("rathaus_model_slots_busy", "metrics-test-model") == 1
    assert sample("rathaus_model_queued", "metrics-test-model") == 1

    held.release()
    waiter.join(10)
    assert sample("rathaus_model_slots_busy", "metrics-test-model") == 0
    assert sample("rathaus_model_queued", "metrics-test-model") == 0
