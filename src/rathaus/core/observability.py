"""Prometheus metrics of the process (exposed at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MODEL_REQUESTS = Counter(
    "rathaus_model_requests_total", "Model calls through the gateway", ["model", "operation", "status"]
)
MODEL_TOKENS = Counter("rathaus_model_tokens_total", "Tokens processed", ["model", "direction"])
MODEL_LATENCY = Histogram(
    "rathaus_model_latency_seconds", "Latency of model calls", ["model", "operation"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
MODEL_ENERGY_WH = Counter("rathaus_model_energy_wh_total", "Energy of model calls (Wh)", ["model"])
MODEL_COST_EUR = Counter("rathaus_model_cost_eur_total", "Cost of model calls (EUR)", ["model"])
MODEL_FAILOVERS = Counter(
    "rathaus_model_failovers_total", "Calls sent to a fallback model because a model failed or its breaker was open",
    ["from_model", "to_model", "operation", "reason"],
)
MODEL_BREAKER_TRANSITIONS = Counter(
    "rathaus_model_breaker_transitions_total", "Changes of a model's circuit breaker, by the state entered",
    ["model", "state"],
)
MODEL_BREAKER_STATE = Gauge("rathaus_model_breaker_state", "Circuit breaker of a model: 0 closed, 1 half-open, 2 open",
                            ["model"])
HTTP_REQUESTS = Histogram(
    "rathaus_http_request_seconds", "HTTP request duration", ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# Fair use of scarce models (rathaus.models.admission): read when scraped, per process.
MODEL_SLOTS = Gauge("rathaus_model_slots", "Calls the model may answer at once (max_concurrency)", ["model"])
MODEL_SLOTS_BUSY = Gauge("rathaus_model_slots_busy", "Calls holding one of the model's slots", ["model"])
MODEL_QUEUED = Gauge("rathaus_model_queued", "Calls waiting for a slot of the model", ["model"])
QUERY_EMBEDDING_CACHE = Counter(
    "rathaus_query_embedding_cache", "Look-ups of search questions in the query-embedding cache", ["model", "result"]
)
QUERY_EMBEDDING_BATCH_SIZE = Histogram(
    "rathaus_query_embedding_batch_size", "Search questions embedded together in one model call", ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
