"""Checks and gap filling for 15-minute counts (detectors, bicycle 15-minute files).

A 15-minute series is indexed by the interval start as tz-aware time (UTC or Europe/Berlin); gaps are NaN.
Time of day is read in local time, so the 23- and 25-hour days of the clock changes need no special case.

Methods to fill a gap (``FILL_METHODS``):

* ``linear`` – straight line between the values around the gap;
* ``profile`` – the station's typical value for this weekday and quarter-hour (median of its known values);
* ``ratio`` – the Zürich ratio method: the hour before the gap times the ratio of the typical values (same
  weekday and quarter-hour) of the gap's interval and of that hour, so the gap follows the day's shape at the
  level the sensor had just measured;
* ``gbm`` – gradient boosting on quarter-hour, weekday, Bavarian public and school holidays, season and the
  neighbouring sensors at the same time (log scale).

``fill_intervals`` picks the method per gap length (``≤ 1 h``, ``≤ 1 day``, ``> 1 day``) by a backtest on the
series itself – known values hidden in blocks of those lengths – and returns a 90 % interval from the chosen
method's backtest errors in that bucket (split conformal, on the log scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from rathaus.core.errors import BadRequest
from rathaus.traffic.calendar import calendar_features
from rathaus.traffic.checks import CheckConfig, check_series

TZ = "Europe/Berlin"
SLOTS = 96
FILL_METHODS = ("linear", "profile", "ratio", "gbm")
BUCKETS = ("≤ 1 h", "≤ 1 day", "> 1 day")
BACKTEST_BLOCKS = {"≤ 1 h": (1, 4, 40), "≤ 1 day": (8, 96, 16), "> 1 day": (192, 480, 8)}  # min, max, count
MIN_KNOWN = 96 * 14
MAX_TRAIN = 15_000


def _check_series(values: pd.Series) -> pd.Series:
    if not isinstance(values.index, pd.DatetimeIndex) or values.index.tz is None:
        raise BadRequest("a 15-minute series needs a tz-aware time index (UTC or Europe/Berlin)")
    if (values < 0).any():
        raise BadRequest("negative counts cannot be filled; the import rejects them")
    return values.sort_index().astype(float)


def local_time(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index.tz_convert(TZ).tz_localize(None)


def slot_of_day(index: pd.DatetimeIndex) -> np.ndarray:
    local = local_time(index)
    return np.asarray(local.hour * 4 + local.minute // 15)


def features(index: pd.DatetimeIndex, neighbours: pd.DataFrame | None = None) -> pd.DataFrame:
    """Quarter-hour, weekday and the day's calendar (holidays, season) per interval, plus log counts of the
    neighbouring sensors at the same time (``n_<id>`` columns; NaN where they have no value)."""
    local = local_time(index)
    days = local.normalize()
    calendar = calendar_features(pd.DatetimeIndex(days.unique()))
    frame = calendar.reindex(days)
    frame.index = index
    frame.insert(0, "slot", slot_of_day(index))
    if neighbours is not None and not neighbours.empty:
        others = np.log1p(neighbours.reindex(index).astype(float).where(lambda x: x >= 0))
        others.columns = [f"n_{c}" for c in others.columns]
        frame = pd.concat([frame, others], axis=1)
    return frame


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return list(zip(edges[::2], edges[1::2], strict=True))


def gap_lengths(missing: np.ndarray) -> np.ndarray:
    """For every missing value the length (in values) of the run of missing values it belongs to."""
    out = np.zeros(len(missing), dtype=int)
    for start, stop in _runs(missing):
        out[start:stop] = stop - start
    return out


def bucket_of(lengths: np.ndarray) -> np.ndarray:
    return np.select([lengths <= 4, lengths <= SLOTS], [BUCKETS[0], BUCKETS[1]], BUCKETS[2])


def _profile(values: pd.Series, known: np.ndarray) -> np.ndarray:
    """Typical value (median) per weekday × quarter-hour, for every interval of the series."""
    local = local_time(values.index)
    key = np.asarray(local.day_of_week * SLOTS + local.hour * 4 + local.minute // 15)
    table = pd.Series(values.to_numpy()[known]).groupby(key[known]).median()
    overall = pd.Series(values.to_numpy()[known]).groupby(key[known] % SLOTS).median()
    typical = table.reindex(key).to_numpy()
    fallback = overall.reindex(key % SLOTS).to_numpy()
    return np.where(np.isnan(typical), fallback, typical)


def predict_linear(values: pd.Series, known: np.ndarray) -> np.ndarray:
    series = pd.Series(np.where(known, values.to_numpy(), np.nan), index=values.index)
    return series.interpolate(method="time", limit_area="inside").ffill().bfill().to_numpy()


def predict_profile(values: pd.Series, known: np.ndarray) -> np.ndarray:
    return _profile(values, known)


def predict_ratio(values: pd.Series, known: np.ndarray) -> np.ndarray:
    """Zürich ratio method: (the hour before the gap) × typical(interval) / typical(that hour)."""
    typical = _profile(values, known)
    v = values.to_numpy()
    out = typical.copy()
    for start, stop in _runs(~known):
        before = np.arange(max(0, start - 4), start)
        before = before[known[before]]
        base = typical[before].sum()
        if len(before) and base > 0:
            out[start:stop] = typical[start:stop] * v[before].sum() / base
    return out


def predict_gbm(values: pd.Series, known: np.ndarray, feats: pd.DataFrame) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingRegressor

    x = feats.to_numpy(dtype=float)
    y = np.log1p(values.to_numpy())
    rows = np.flatnonzero(known)
    if len(rows) > MAX_TRAIN:
        rows = np.sort(np.random.default_rng(0).choice(rows, MAX_TRAIN, replace=False))
    model = HistGradientBoostingRegressor(max_iter=150, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
                                          random_state=0)
    with threadpool_limits(limits=1):  # see checks.band: OpenMP threads slow small fits on a shared machine
        model.fit(x[rows], y[rows])
        return np.expm1(model.predict(x)).clip(min=0)


def predict(method: str, values: pd.Series, known: np.ndarray, feats: pd.DataFrame) -> np.ndarray:
    if method == "linear":
        return predict_linear(values, known)
    if method == "profile":
        return predict_profile(values, known)
    if method == "ratio":
        return predict_ratio(values, known)
    if method == "gbm":
        return predict_gbm(values, known, feats)
    raise BadRequest(f"unknown method {method!r}; known: {', '.join(FILL_METHODS)}")


def hide_blocks(known: np.ndarray, seed: int = 0) -> np.ndarray:
    """Blocks of known values to hide for the backtest (``BACKTEST_BLOCKS``), never overlapping a real gap."""
    rng = np.random.default_rng(seed)
    hidden = np.zeros(len(known), dtype=bool)
    for low, high, count in BACKTEST_BLOCKS.values():
        placed = tries = 0
        while placed < count and tries < count * 50:
            tries += 1
            length = int(rng.integers(low, high + 1))
            start = int(rng.integers(1, max(2, len(known) - length - 1)))
            span = slice(start - 1, start + length + 1)  # keep a known value on either side
            if known[span].all() and not hidden[span].any():
                hidden[start:start + length] = True
                placed += 1
    return hidden


@dataclass
class Backtest:
    """MAE per method and gap bucket on hidden known values, the chosen method per bucket and the log-scale
    error quantiles (5 %, 95 %) of the chosen method per bucket."""

    mae: pd.DataFrame  # bucket × method
    chosen: dict[str, str]
    quantiles: dict[str, tuple[float, float]]
    hidden: int


def backtest(values: pd.Series, feats: pd.DataFrame, methods: Sequence[str] = FILL_METHODS, seed: int = 0) -> Backtest:
    known = values.notna().to_numpy()
    hidden = hide_blocks(known, seed)
    if hidden.sum() < 20:
        raise BadRequest("zu wenige bekannte Werte für den Backtest / too few known values to backtest the methods")
    train = known & ~hidden
    buckets = bucket_of(gap_lengths(hidden))[hidden]
    truth = values.to_numpy()[hidden]
    preds = {m: predict(m, values, train, feats)[hidden] for m in methods}
    mae = pd.DataFrame({m: pd.Series(np.abs(p - truth)).groupby(buckets).mean() for m, p in preds.items()})
    chosen, quantiles = {}, {}
    for bucket in BUCKETS:
        # no backtest block of this length fitted: the method that is best overall
        best = str(mae.loc[bucket].idxmin()) if bucket in mae.index else str(mae.mean().idxmin())
        chosen[bucket] = best
        sel = buckets == bucket if bucket in mae.index else np.ones(len(truth), dtype=bool)
        errors = np.log1p(truth[sel]) - np.log1p(preds[best][sel])
        quantiles[bucket] = (float(np.quantile(errors, 0.05)), float(np.quantile(errors, 0.95)))
    return Backtest(mae, chosen, quantiles, int(hidden.sum()))


def fill_intervals(values: pd.Series, neighbours: pd.DataFrame | None = None, missing: pd.Index | None = None,
                   seed: int = 0) -> tuple[pd.DataFrame, Backtest]:
    """Fill the missing values of a 15-minute series (NaN, plus ``missing`` = flagged times treated as unknown).

    Returns a frame indexed by time with ``value``, ``lower``, ``upper`` (90 %), ``method`` and the backtest
    that chose the methods."""
    values = _check_series(values)
    if missing is not None and len(missing):
        values = values.mask(values.index.isin(missing))
    known = values.notna().to_numpy()
    if known.sum() < MIN_KNOWN:
        raise BadRequest(f"zu wenige bekannte Werte (mindestens {MIN_KNOWN}: 14 Tage) / too few known values "
                         f"(at least {MIN_KNOWN}: 14 days) to fill gaps")
    feats = features(values.index, neighbours)
    test = backtest(values, feats, seed=seed)
    gaps = ~known
    out = pd.DataFrame(columns=["value", "lower", "upper", "method"], index=values.index[gaps])
    if not gaps.any():
        return out, test
    buckets = bucket_of(gap_lengths(gaps))[gaps]
    predictions = {m: predict(m, values, known, feats)[gaps] for m in set(test.chosen.values())}
    value = np.array([predictions[test.chosen[b]][i] for i, b in enumerate(buckets)])
    lo = np.array([test.quantiles[b][0] for b in buckets])
    hi = np.array([test.quantiles[b][1] for b in buckets])
    out["value"] = value
    out["lower"] = np.expm1(np.log1p(value) + lo).clip(min=0)
    out["upper"] = np.expm1(np.log1p(value) + hi)
    out["method"] = [test.chosen[b] for b in buckets]
    return out, test


def check_intervals(values: pd.Series, neighbours: pd.DataFrame | None = None,
                    config: CheckConfig | None = None) -> pd.DataFrame:
    """The plausibility checks of :mod:`rathaus.traffic.checks` on a 15-minute series, with quarter-hour,
    calendar and neighbours as the interval model's features."""
    values = _check_series(values)
    values = values.asfreq("15min")  # the rules compare with the same quarter-hour in other weeks by position
    return check_series(values, features(values.index, neighbours), resolution="15min",
                        config=config or CheckConfig.for_resolution("15min"))
