"""The portfolio's score formula on hand-computed values (pure logic, no database)."""

from __future__ import annotations

import pytest

from rathaus.governance.portfolio.scoring import points_of, score
from rathaus.governance.portfolio.weights import shipped_defaults

DEFAULTS = shipped_defaults().weights()


def test_the_shipped_defaults_are_the_documented_ones() -> None:
    assert DEFAULTS == {"benefit": 3, "feasibility": 2, "risk": 2, "climate": 1, "data_availability": 2}


def test_score_by_hand() -> None:
    points = points_of({"benefit": 4, "feasibility": 3, "climate": 2, "data_availability": 5}, "limited")
    assert points == {"benefit": 4, "feasibility": 3, "climate": 2, "data_availability": 5, "risk": 4}
    # (3·3/4 + 2·2/4 + 2·3/4 + 1·1/4 + 2·4/4) / 10 · 100 = 7 / 10 · 100
    assert score(points, DEFAULTS) == 70.0


def test_extremes_and_equal_weights() -> None:
    best = points_of({"benefit": 5, "feasibility": 5, "climate": 5, "data_availability": 5}, "minimal")
    assert best is not None and score(best, DEFAULTS) == 100.0
    high = points_of({"benefit": 1, "feasibility": 1, "climate": 1, "data_availability": 1}, "high")
    assert high is not None and high["risk"] == 2
    equal = dict.fromkeys(DEFAULTS, 1.0)
    assert score(high, equal) == 5.0  # (2 − 1)/4 · 1 / 5 · 100


def test_prohibited_is_never_scored_and_weights_must_not_all_be_zero() -> None:
    assert points_of({"benefit": 5, "feasibility": 5, "climate": 5, "data_availability": 5}, "prohibited") is None
    points = points_of({"benefit": 3, "feasibility": 3, "climate": 3, "data_availability": 3}, "minimal")
    assert points is not None
    with pytest.raises(ValueError, match="zero"):
        score(points, dict.fromkeys(DEFAULTS, 0.0))
