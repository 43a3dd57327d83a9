"""Budgets hold under concurrency: 24 parallel requests against a nearly exhausted budget."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from rathaus.core import budgets
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BudgetExhausted
from rathaus.models.gateway import CallContext
from rathaus.models.types import ChatMessage, ChatParams
from rathaus.runtime import Runtime

MESSAGES = [ChatMessage("user", "Sag Hallo.")]
PARAMS = dict(max_tokens=4, temperature=0)


def fire(rt: Runtime, department: str, n: int) -> tuple[int, int]:
    ok = refused = 0

    def one(i: int) -> bool:
        ctx = CallContext(principal=Principal(id=f"u{i}", kind="user", department=department),
                          data_class=DataClass.INTERN, use_case="budget-test")
        try:
            rt.gateway.chat(ctx, MESSAGES, params=ChatParams(**PARAMS))
            return True
        except BudgetExhausted:
            return False

    with ThreadPoolExecutor(n) as pool:
        for result in pool.map(one, range(n)):
            ok, refused = ok + result, refused + (not result)
    return ok, refused


def per_request(rt: Runtime) -> int:
    return rt.gateway.provider(rt.catalog.get("local-chat")).count_tokens(MESSAGES) + PARAMS["max_tokens"]


@pytest.fixture(autouse=True)
def _room_for_every_call(runtime: Runtime) -> None:
    """These tests are about budgets under concurrency: every admitted call may wait as long as it takes (the
    model's own queue limits are tested in tests/models/test_admission.py and tests/http/test_model_busy.py)."""
    runtime.gateway.admission.gate("local-chat", 1, 100, 600)


def test_token_budget_is_never_exceeded(runtime: Runtime) -> None:
    worst = per_request(runtime)
    limit = int(worst * 5.5)  # room for five worst-case requests, already a bit used
    with runtime.db.session() as s:
        budgets.set_limit(s, "KVR", None, limit)
    ok, refused = fire(runtime, "KVR", 24)
    with runtime.db.session() as s:
        state = budgets.status(s, "KVR")
    assert ok == 5 and refused == 19
    assert state.tokens_used <= limit
    assert 0 < state.tokens_used <= 5 * worst


def test_euro_budget_is_never_exceeded(runtime: Runtime) -> None:
    worst = per_request(runtime)
    # test prices: 10 € / 1M in, 30 € / 1M out -> the worst case of one request
    worst_eur = (Decimal(worst - PARAMS["max_tokens"]) * 10 + PARAMS["max_tokens"] * 30) / 1_000_000
    limit = (worst_eur * Decimal("3.5")).quantize(Decimal("0.0001"), rounding="ROUND_DOWN")
    with runtime.db.session() as s:
        budgets.set_limit(s, "SOZ", limit, None)
    ok, refused = fire(runtime, "SOZ", 20)
    with runtime.db.session() as s:
        state = budgets.status(s, "SOZ")
    assert ok == 3 and refused == 17
    assert state.eur_used <= limit


def test_other_departments_are_unaffected(runtime: Runtime) -> None:
    with runtime.db.session() as s:
        budgets.set_limit(s, "KVR", None, 0)
    assert fire(runtime, "KVR", 2) == (0, 2)
    assert fire(runtime, "Baureferat", 2) == (2, 0)


def test_a_used_up_budget_is_refused_before_tokenising_with_retry_after_and_audited(runtime: Runtime,
                                                                                    monkeypatch) -> None:
    """Issue 13: the refusal came only after ~14 s (safeguards, tokenising), without Retry-After, unaudited."""
    import datetime as dt

    import sqlalchemy as sa

    with runtime.db.session() as s:
        budgets.set_limit(s, "KVR", Decimal("1.00"), None)
        budgets.reserve(s, "KVR", Decimal("1.00"), 100)  # the month's euros are spent
    provider = runtime.gateway.provider(runtime.catalog.get("local-chat"))

    def no_tokenising(*_: object) -> int:
        raise AssertionError("tokenised although the budget was used up")

    monkeypatch.setattr(provider, "count_tokens", no_tokenising)
    ctx = CallContext(principal=Principal(id="u1", kind="user", department="KVR"), data_class=DataClass.INTERN,
                      use_case="budget-test")
    try:
        runtime.gateway.chat(ctx, MESSAGES, params=ChatParams(**PARAMS))
        raise AssertionError("not refused")
    except BudgetExhausted as exc:
        refusal = exc
    assert "is used up" in refusal.detail and refusal.status == 429
    retry = int(refusal.headers["Retry-After"])
    now = dt.datetime.now(budgets.CITY_TZ)
    assert 0 < retry <= 31 * 86400
    assert (now + dt.timedelta(seconds=retry + 5)).month != now.month  # points at the next month's start
    with runtime.db.session() as s:
        row = s.execute(sa.text("SELECT action, safeguards FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    assert row.action == "model.refused" and row.safeguards["reason"] == "budget-exhausted"


def test_budget_refusal_over_http_carries_retry_after(client) -> None:
    rt = client.app.state.runtime
    with rt.db.session() as s:
        budgets.set_limit(s, "lokal", None, 10)
        budgets.reserve(s, "lokal", Decimal(0), 10)
    body = {"model": "local-chat", "messages": [{"role": "user", "content": "Hi"}]}
    r = client.post("/v1/chat/completions", json=body, headers={"X-Rathaus-Data-Class": "intern"})
    assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/budget-exhausted") and int(r.headers["Retry-After"]) > 0


def test_seconds_to_next_month() -> None:
    import datetime as dt

    at = dt.datetime(2026, 12, 31, 23, 0, tzinfo=budgets.CITY_TZ)
    assert budgets.seconds_to_next_month(at) == 3600
    assert budgets.seconds_to_next_month(dt.datetime(2026, 1, 1, 0, 0, tzinfo=budgets.CITY_TZ)) == 31 * 86400
    # March has a clock change: one hour less
    assert budgets.seconds_to_next_month(dt.datetime(2026, 3, 1, 0, 0, tzinfo=budgets.CITY_TZ)) == 31 * 86400 - 3600
