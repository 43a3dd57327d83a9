"""Plausibility checks (rathaus.traffic.checks) on synthetic series with planted faults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rathaus.core.errors import BadRequest
from rathaus.traffic.checks import CheckConfig, check_series, typical_level


def synthetic(days: int = 730, seed: int = 1) -> tuple[pd.Series, pd.DataFrame]:
    """A busy station: weekly pattern, seasonal curve, rain effect, noise; and a correlated neighbour."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2019-01-01", periods=days, freq="D")
    weekday = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.6, 0.5])[index.day_of_week]
    season = 1 + 0.5 * np.sin(2 * np.pi * (index.day_of_year - 100) / 365.25)
    rain = rng.gamma(0.6, 3.0, days) * (rng.random(days) < 0.4)
    base = 2000 * weekday * season * np.exp(-0.04 * rain)
    values = pd.Series(np.round(base * rng.lognormal(0, 0.06, days)), index=index)
    neighbour = np.round(base * 0.7 * rng.lognormal(0, 0.06, days))
    features = pd.DataFrame({"weekday": index.day_of_week, "doy": index.day_of_year, "rain": rain,
                             "neighbour": np.log1p(neighbour)}, index=index).astype(float)
    return values, features


def flagged(flags: pd.DataFrame, check: str) -> set[pd.Timestamp]:
    return set(flags.loc[flags["check"] == check, "ts"])


def test_clean_series_gets_few_flags() -> None:
    values, features = synthetic()
    flags = check_series(values, features)
    assert len(flags["ts"].unique()) / len(values) < 0.02  # under 2 % false alarms on a clean series


def test_zero_on_a_busy_day_is_flagged_but_not_on_a_quiet_sensor() -> None:
    values, _ = synthetic()
    values.iloc[100] = 0
    flags = check_series(values)
    assert flagged(flags, "zero") == {values.index[100]}
    assert "Nullwert" in flags.loc[flags["check"] == "zero", "reason"].iloc[0]
    quiet = values / 400  # ~5 a day: a zero is plausible
    quiet.iloc[100] = 0
    assert flagged(check_series(quiet.round()), "zero") == set()


def test_flat_line_spike_and_drift_are_found() -> None:
    values, features = synthetic()
    values.iloc[200:205] = values.iloc[200]  # stuck for 5 days
    values.iloc[300] = values.iloc[300] * 6  # spike
    values.iloc[400:440] = np.round(values.iloc[400:440] * 0.6)  # loop counts 60 % for 40 days
    flags = check_series(values, features)
    assert set(values.index[200:205]) <= flagged(flags, "flat")
    assert values.index[300] in flagged(flags, "spike")
    drift = flagged(flags, "drift")
    assert len(drift & set(values.index[400:440])) >= 25
    assert len(drift - set(values.index[390:450])) == 0


def test_interval_rule_uses_neighbours_and_never_judges_a_value_with_itself() -> None:
    values, features = synthetic()
    values.iloc[500] = np.round(values.iloc[500] * 0.35)  # a bad day the rules cannot see
    flags = check_series(values, features, checks=("interval",))
    assert values.index[500] in flagged(flags, "interval")
    row = flags[flags["ts"] == values.index[500]].iloc[0]
    assert row["lower"] > row["value"]


def test_missing_values_are_gaps_not_faults() -> None:
    values, features = synthetic()
    values.iloc[50:60] = np.nan
    flags = check_series(values, features)
    assert not set(values.index[50:60]) & set(flags["ts"])


def test_typical_level_ignores_the_value_itself_and_zeros() -> None:
    index = pd.date_range("2022-01-03", periods=70, freq="D")
    values = pd.Series(100.0, index=index)
    values.iloc[35] = 0
    level = typical_level(values)
    assert level.iloc[35] == 100.0


def test_bad_input_is_refused_with_a_clear_message() -> None:
    values, _ = synthetic(60)
    with pytest.raises(BadRequest, match="unknown check"):
        check_series(values, checks=("zero", "magic"))
    with pytest.raises(BadRequest, match="negative"):
        check_series(values - 5000)
    with pytest.raises(BadRequest, match="time index"):
        check_series(pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(BadRequest, match="resolution"):
        CheckConfig.for_resolution("hourly")
