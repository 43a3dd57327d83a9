"""Plausibility checks for counting sensors, as the city does them – made measurable.

Every check looks at one sensor's series (daily totals or 15-minute counts) and returns flags with a
reason a person can read. The checks, in the order they run:

* ``zero`` – the city's zero-value rule with a per-sensor threshold: a zero is flagged when the sensor's
  typical volume on such a day (median of the same weekday in the surrounding weeks) is at least
  ``zero_min_expected``; a quiet sensor may count zero, a busy one does not.
* ``flat`` – the same non-zero value ``flat_min_run`` times in a row (a stuck transmission).
* ``spike`` – an isolated value ``spike_factor`` times above its typical level and above both neighbours
  in time.
* ``interval`` – the city's interval rule, as a quantile model per sensor: gradient boosting predicts a
  plausible band for each value from calendar, weather and neighbouring sensors (``features``); a value
  outside the band is flagged. Cross-fitted over interleaved 8-week blocks, so no value is judged by a model
  that saw it, and trained only on values the rules above left alone; fitted a second time without the values
  the first fit found suspicious.
* ``drift`` – a sustained bias against that model's median (scaled drift: a loop that counts 70 % of the
  bikes for weeks): the rolling median of log(value / predicted) over ``drift_window`` values beyond
  ``drift_log_ratio`` for at least ``drift_min_run`` values.

Missing values are never flagged (they are gaps, filled elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from rathaus.core.errors import BadRequest

CHECKS = ("zero", "flat", "spike", "interval", "drift")
REASONS = {
    "zero": "Nullwert, obwohl typisch etwa {expected:.0f} gezählt werden / zero where about {expected:.0f} is typical",
    "flat": "{run}× derselbe Wert {value:.0f} hintereinander / the same value {run} times in a row",
    "spike": "Ausreißer nach oben: {value:.0f} statt typisch {expected:.0f} / spike: {value:.0f} vs typical"
             " {expected:.0f}",
    "interval": "außerhalb des plausiblen Bereichs {lower:.0f}–{upper:.0f} / outside the plausible band",
    "drift": "seit {run} Werten systematisch {direction} {pct:.0f} % gegenüber dem Modell / drifting {pct:.0f} %"
             " {direction_en} the model for {run} values",
}


@dataclass(frozen=True)
class CheckConfig:
    """Thresholds; the defaults are for daily totals of bicycle stations (see ``for_resolution``)."""

    zero_min_expected: float = 20.0
    flat_min_run: int = 3
    spike_factor: float = 2.5
    spike_min_excess: float = 0.0  # and at least this many counts above typical (small counts scatter a lot)
    interval_quantiles: tuple[float, float] = (0.005, 0.995)
    interval_margin: float = 0.15  # widen the band by this share of the predicted median (log scale)
    interval_folds: int = 4
    interval_block: int = 56  # values per cross-fitting block
    interval_max_train: int | None = None  # fit each quantile model on at most this many values (a random sample)
    interval_max_iter: int = 150
    # quantile: three quantile models per fold; residual: one least-squares model per fold and the band from its
    # out-of-fold residuals (per prediction decile) – 10× faster, for the 35,000 values of a 15-minute year
    interval_spread: str = "quantile"
    drift_window: int = 14
    drift_log_ratio: float = 0.25  # |log(value / predicted)|: ≈ 22 % too low or 28 % too high
    drift_min_run: int = 14
    profile_weeks: int = 4

    @classmethod
    def for_resolution(cls, resolution: str) -> CheckConfig:
        if resolution == "day":
            return cls()
        if resolution == "15min":  # 96 values a day: runs and windows in intervals, not days
            # a year of quarter-hours is 35,000 values: the quantile models learn from a sample of them, which
            # keeps a detector at seconds instead of half a minute (bench/traffic_scale.py)
            return cls(zero_min_expected=8.0, flat_min_run=8, spike_factor=4.0, spike_min_excess=30.0,
                       interval_block=96 * 56,
                       interval_max_train=20_000, interval_max_iter=100, interval_spread="residual",
                       drift_window=96 * 7,
                       drift_min_run=96 * 7, profile_weeks=3)
        raise BadRequest(f"unknown resolution {resolution!r}; known: day, 15min")


def typical_level(values: pd.Series, weeks: int = 4) -> pd.Series:
    """Median of the same weekday (and time of day) in the ``weeks`` weeks before and after, the value itself
    excluded; zeros and gaps are ignored, so an outage does not lower its own expectation."""
    if values.empty:
        return values.astype(float)
    step = _values_per_week(values.index)
    clean = values.where(values > 0)
    shifted = [clean.shift(k * step) for k in range(-weeks, weeks + 1) if k != 0]
    stacked = np.column_stack([s.to_numpy(dtype=float) for s in shifted])
    with np.errstate(all="ignore"), _quiet_nanmedian():
        med = np.nanmedian(stacked, axis=1)
    return pd.Series(med, index=values.index)


class _quiet_nanmedian:
    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def _values_per_week(index: pd.Index) -> int:
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        raise BadRequest("a series needs a time index with at least two values")
    step = pd.Series(index).diff().median()
    return max(1, round(pd.Timedelta(days=7) / step))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of runs of True."""
    runs, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(mask)))
    return runs


def _flag(ts: pd.Timestamp, check: str, value: float, expected: float, lower: float = np.nan,
          upper: float = np.nan, **extra: object) -> dict:
    fields = {"expected": expected, "value": value, "lower": lower, "upper": upper, **extra}
    return {"ts": ts, "check": check, "reason": REASONS[check].format(**fields), "value": value,
            "expected": expected, "lower": lower, "upper": upper}


def rule_checks(values: pd.Series, config: CheckConfig) -> list[dict]:
    """zero, flat and spike: rules on the series alone."""
    level = typical_level(values, config.profile_weeks)
    v, e, idx = values.to_numpy(dtype=float), level.to_numpy(dtype=float), values.index
    flags = []
    for i in np.flatnonzero((v == 0) & (e >= config.zero_min_expected)):
        flags.append(_flag(idx[i], "zero", v[i], e[i]))
    same = np.zeros(len(v), dtype=bool)
    same[1:] = (v[1:] == v[:-1]) & (v[1:] > 0)
    for start, stop in _runs(same):
        first = start - 1  # the run starts one value before the first "same as previous"
        if stop - first >= config.flat_min_run:
            for j in range(first, stop):
                flags.append(_flag(idx[j], "flat", v[j], e[j], run=stop - first))
    prev = np.r_[np.nan, v[:-1]]
    nxt = np.r_[v[1:], np.nan]
    with np.errstate(invalid="ignore"):
        spike = ((v > config.spike_factor * e) & (v - e >= config.spike_min_excess) & (e > 0) & ~(prev >= v)
                 & ~(nxt >= v))
    for i in np.flatnonzero(spike):
        flags.append(_flag(idx[i], "spike", v[i], e[i]))
    return flags


def _model(quantile: float | None, max_iter: int = 150):
    """A quantile model, or with ``quantile=None`` a least-squares model of the mean (of log counts)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    loss = {"loss": "squared_error"} if quantile is None else {"loss": "quantile", "quantile": quantile}
    return HistGradientBoostingRegressor(**loss, max_iter=max_iter, learning_rate=0.08, max_leaf_nodes=15,
                                         min_samples_leaf=20, random_state=0)


def _residual_band(y: np.ndarray, med: np.ndarray, usable: np.ndarray, quantiles: tuple[float, float],
                   bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Band from the out-of-fold residuals, per decile of the prediction (small counts scatter more on the
    log scale than large ones)."""
    lo, hi = np.full(len(y), np.nan), np.full(len(y), np.nan)
    ok = usable & ~np.isnan(med)
    if ok.sum() < 60:
        return lo, hi
    edges = np.unique(np.quantile(med[ok], np.linspace(0, 1, bins + 1)[1:-1]))
    level = np.digitize(np.nan_to_num(med, nan=-1.0), edges)
    residual = y - med
    for b in np.unique(level):
        members = ok & (level == b)
        if members.sum() < 30:
            members = ok
        q = np.quantile(residual[members], quantiles)
        lo[level == b], hi[level == b] = med[level == b] + q[0], med[level == b] + q[1]
    return lo, hi


def band(values: pd.Series, features: pd.DataFrame, trusted: np.ndarray, config: CheckConfig) -> pd.DataFrame:
    """Cross-fitted plausible band (lower, median, upper) per value, on the log scale of counts + 1 (the median
    is the mean of log counts for ``interval_spread="residual"``)."""
    y = np.log1p(values.to_numpy(dtype=float))
    x = features.reindex(values.index).to_numpy(dtype=float)
    n = len(y)
    out = np.full((n, 3), np.nan)
    # interleaved blocks of ~8 weeks: every block is judged by a model that saw the blocks around it (so
    # lasting changes such as a construction site are learnt) but not the block itself (so a fault is not)
    # (a short series gets shorter blocks, at least two per fold)
    size = max(1, min(config.interval_block, n // (2 * config.interval_folds)))
    block = np.arange(n) // size
    folds = [np.flatnonzero(block % config.interval_folds == k) for k in range(config.interval_folds)]
    usable = trusted & ~np.isnan(y)
    q_lo, q_hi = config.interval_quantiles
    rng = np.random.default_rng(0)
    # one thread: small data, and on a shared machine OpenMP's threads made each fit several times slower
    with threadpool_limits(limits=1):
        for fold in folds:
            train = usable.copy()
            train[fold] = False
            if train.sum() < 60 or not len(fold):
                continue
            rows = np.flatnonzero(train)
            if config.interval_max_train and len(rows) > config.interval_max_train:
                rows = np.sort(rng.choice(rows, config.interval_max_train, replace=False))
            if config.interval_spread == "residual":
                out[fold, 1] = _model(None, config.interval_max_iter).fit(x[rows], y[rows]).predict(x[fold])
                continue
            for col, q in enumerate((q_lo, 0.5, q_hi)):
                model = _model(q, config.interval_max_iter).fit(x[rows], y[rows])
                out[fold, col] = model.predict(x[fold])
    if config.interval_spread == "residual":
        out[:, 0], out[:, 2] = _residual_band(y, out[:, 1], usable, config.interval_quantiles)
    lo, med, hi = out[:, 0], out[:, 1], out[:, 2]
    lo, hi = np.minimum(lo, med) - config.interval_margin, np.maximum(hi, med) + config.interval_margin
    return pd.DataFrame({"lower": np.expm1(lo).clip(min=0), "median": np.expm1(med).clip(min=0),
                         "upper": np.expm1(hi)}, index=values.index)


def model_checks(values: pd.Series, features: pd.DataFrame, trusted: np.ndarray, config: CheckConfig) -> list[dict]:
    """interval and drift: against the cross-fitted quantile model, fitted twice – the second time without the
    values the first fit found suspicious, so that weeks of drift do not teach the model a false season."""
    flags = _model_flags(values, features, trusted, config, trusted)
    if not flags:
        return flags
    suspicious = values.index.isin([f["ts"] for f in flags])
    return _model_flags(values, features, trusted & ~suspicious, config, trusted)


def _model_flags(values: pd.Series, features: pd.DataFrame, train: np.ndarray, config: CheckConfig,
                 trusted: np.ndarray) -> list[dict]:
    b = band(values, features, train, config)
    v, idx = values.to_numpy(dtype=float), values.index
    lo, med, hi = (b[c].to_numpy() for c in ("lower", "median", "upper"))
    flags = []
    with np.errstate(invalid="ignore"):
        outside = (v < lo) | (v > hi)
    for i in np.flatnonzero(outside & trusted):
        flags.append(_flag(idx[i], "interval", v[i], med[i], lo[i], hi[i]))
    with np.errstate(all="ignore"):
        ratio = pd.Series(np.log1p(v) - np.log1p(med), index=idx).where(trusted & (v > 0))
    rolling = ratio.rolling(config.drift_window, min_periods=config.drift_window // 2, center=True).median()
    r = rolling.to_numpy()
    with np.errstate(invalid="ignore"):
        for sign in (1, -1):
            for start, stop in _runs(sign * r > config.drift_log_ratio):
                if stop - start < config.drift_min_run:
                    continue
                pct = 100 * abs(np.expm1(np.nanmedian(r[start:stop])))
                for j in range(start, stop):
                    if not np.isnan(v[j]):
                        flags.append(_flag(idx[j], "drift", v[j], med[j], lo[j], hi[j], run=stop - start, pct=pct,
                                           direction="höher" if sign > 0 else "niedriger",
                                           direction_en="above" if sign > 0 else "below"))
    return flags


def check_series(values: pd.Series, features: pd.DataFrame | None = None, *, resolution: str = "day",
                 config: CheckConfig | None = None, checks: tuple[str, ...] = CHECKS) -> pd.DataFrame:
    """Flags of one sensor: columns ts, check, reason, value, expected, lower, upper (one row per value and check).

    ``features`` (same index): calendar, weather and neighbouring sensors for the model checks; without it
    only the rules run.
    """
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise BadRequest(f"unknown check(s) {', '.join(sorted(unknown))}; known: {', '.join(CHECKS)}")
    if not isinstance(values.index, pd.DatetimeIndex):
        raise BadRequest("a series needs a time index")
    if (values < 0).any():
        raise BadRequest("negative counts cannot be checked; the import rejects them")
    config = config or CheckConfig.for_resolution(resolution)
    values = values.sort_index().astype(float)
    flags = [f for f in rule_checks(values, config) if f["check"] in checks]
    if features is not None and {"interval", "drift"} & set(checks) and values.notna().sum() >= 120:
        ruled = {f["ts"] for f in rule_checks(values, config)}
        trusted = ~values.index.isin(list(ruled)) & values.notna().to_numpy() & (values.to_numpy() > 0)
        flags += [f for f in model_checks(values, features, trusted, config) if f["check"] in checks]
    frame = pd.DataFrame(flags, columns=["ts", "check", "reason", "value", "expected", "lower", "upper"])
    return frame.sort_values(["ts", "check"]).reset_index(drop=True)
