"""Calibrated confidence and the threshold that decides "route automatically" vs. "human triage".

* Temperature scaling (Guo et al. 2017): one number ``T`` per classifier, fitted on held-out predictions by
  minimising the log loss; ``softmax(log p / T)`` keeps the ranking of classes and of messages (it is monotonic)
  and only makes the confidences honest.
* ``threshold_for_precision``: the lowest confidence from which the messages routed automatically were right
  at least ``target`` of the time on a calibration split – the largest automatic share that keeps the precision.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

EPS = 1e-12
NEVER = math.inf  # the threshold when no confidence reaches the target precision: nothing is routed alone


def apply_temperature(probs: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    """Rows of class probabilities rescaled by ``temperature`` (> 1 softer, < 1 sharper); rows sum to 1."""
    logits = np.log(np.clip(probs, EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)


def fit_temperature(probs: NDArray[np.float64], labels: NDArray[np.int64]) -> float:
    """The temperature with the lowest log loss of ``probs`` (n × classes) for the true class indices
    ``labels``, within [0.25, 10] (perfectly separated tuning data would push it towards 0); 1.0 for fewer than 10
    rows (too few to fit)."""
    if len(labels) < 10:
        return 1.0
    idx = np.arange(len(labels))

    def loss(log_t: float) -> float:
        p = apply_temperature(probs, math.exp(log_t))
        return float(-np.log(np.clip(p[idx, labels], EPS, 1.0)).mean())

    res = minimize_scalar(loss, bounds=(math.log(0.25), math.log(10.0)), method="bounded")
    return float(math.exp(res.x))


def threshold_for_precision(probs: ArrayLike, labels: ArrayLike, target: float = 0.95,
                            min_routed: int = 1) -> float:
    """The lowest confidence threshold at which the routed messages reach ``target`` precision.

    ``probs``: the confidence of each message's top prediction (calibration split); ``labels``: whether that
    prediction was right (bool or 0/1). Routing is "confidence >= threshold". Among all thresholds whose routed
    set (at least ``min_routed`` messages) is right at least ``target`` of the time, the lowest is returned – the
    largest share routed automatically. ``math.inf`` when none reaches the target (route nothing alone).
    """
    conf = np.asarray(probs, dtype=np.float64).ravel()
    correct = np.asarray(labels, dtype=bool).ravel()
    if conf.shape != correct.shape:
        raise ValueError(f"probs and labels differ in length: {conf.shape[0]} != {correct.shape[0]}")
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target precision must be in (0, 1], got {target}")
    if conf.size == 0:
        return NEVER
    order = np.argsort(-conf, kind="stable")
    conf, correct = conf[order], correct[order]
    precision = np.cumsum(correct) / np.arange(1, conf.size + 1)
    # A threshold can only sit at a distinct confidence value: the routed set is everything >= it.
    last_of_value = np.r_[conf[1:] != conf[:-1], True]
    ok = last_of_value & (precision >= target - 1e-12) & (np.arange(1, conf.size + 1) >= min_routed)
    if not ok.any():
        return NEVER
    return float(conf[np.flatnonzero(ok)[-1]])


def routed_share(confidences: ArrayLike, correct: ArrayLike, threshold: float) -> tuple[float, float | None, int]:
    """(share routed automatically, precision of those routed or None when none, number routed) at
    ``threshold`` – measured on a split other than the one the threshold was calibrated on."""
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    ok = np.asarray(correct, dtype=bool).ravel()
    routed = conf >= threshold
    n = int(routed.sum())
    share = n / conf.size if conf.size else 0.0
    return share, (float(ok[routed].mean()) if n else None), n
