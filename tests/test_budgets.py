"""Budgets hold under concurrency: 24 parallel requests against a nearly exhausted budget."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

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
