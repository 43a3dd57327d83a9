"""The content guard's false-positive rate on neutral mentions of protected groups, when the guard exists.

The guard is built in ``rathaus.safety.guard`` by another part of the platform; this evaluation only shows its
figure next to the bias scores (a guard that blocks "Meine Kollegin ist trans." harms the same people a biased
model does). Without the guard the report says so instead of failing.
"""

from __future__ import annotations

from typing import Any


def guard_false_positives(threshold: float | None = None) -> dict[str, Any] | None:
    """``rathaus.safety.guard.neutral_false_positive_rate(threshold)`` as a dict; None when not installed."""
    try:
        from rathaus.safety.guard import neutral_false_positive_rate
    except ImportError:
        return None
    try:
        result = neutral_false_positive_rate(threshold=threshold)
    except Exception as exc:  # the guard's own failure must not lose the bias run
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return dict(result) if isinstance(result, dict) else {"false_positive_rate": result}
