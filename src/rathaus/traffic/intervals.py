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
  neighbouring sensors at the same time (log scale);
* ``blend`` – the geometric mean of ``ratio`` and ``gbm`` (on the scale of counts + 1).

``fill_intervals`` picks the method per gap length (``≤ 1 h``, ``≤ 1 day``, ``> 1 day``) by a backtest on the
series itself – known values hidden in blocks of those lengths – and returns a 90 % interval from the chosen
method's backtest errors in that bucket (split conformal, on the log scale). The choice is pooled across gap
lengths (:func:`stable_choice`): the method best over all backtest gaps is the default, and another method
replaces it for a gap length only if its backtest errors there are lower by at least two clustered standard
errors (clusters = hidden blocks), so a few lucky blocks do not decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from rathaus.core.errors import BadRequest
from rathaus.traffic.calendar import calendar_features
from rathaus.traffic.checks import CheckConfig, check_series

TZ = "Europe/Berlin"
SLOTS = 96
FILL_METHODS = ("linear", "profile", "ratio", "gbm", "blend")
BLEND_OF = ("ratio", "gbm")
CHOSEN = "rathaus"
PER_BUCKET = "rathaus_per_bucket"  # the earlier choice (lowest backtest MAE per gap length), kept for comparison
CHOICE_RULES = ("stable", "per_bucket")
CHOICE_Z = 2.0  # a method replaces the pooled best in a gap bucket only if better by ≥ 2 clustered standard errors
ALPHA = 0.10
NEIGHBOURS = 5  # most correlated other sensors used as features
BUCKETS = ("≤ 1 h", "≤ 1 day", "> 1 day")
BACKTEST_BLOCKS = {"≤ 1 h": (1, 4, 120), "≤ 1 day": (8, 96, 40), "> 1 day": (192, 480, 12)}  # min, max, count
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


def blend(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Geometric mean on the log scale of counts + 1 (so zeros stay possible)."""
    return np.expm1((np.log1p(np.clip(a, 0, None)) + np.log1p(np.clip(b, 0, None))) / 2)


def predict(method: str, values: pd.Series, known: np.ndarray, feats: pd.DataFrame,
            cache: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One method's prediction for every interval of the series, fitted on the ``known`` ones only
    (``cache`` keeps the parts of ``blend`` when several methods are asked for on the same ``known``)."""
    cache = {} if cache is None else cache
    if method in cache:
        return cache[method]
    if method == "linear":
        out = predict_linear(values, known)
    elif method == "profile":
        out = predict_profile(values, known)
    elif method == "ratio":
        out = predict_ratio(values, known)
    elif method == "gbm":
        out = predict_gbm(values, known, feats)
    elif method == "blend":
        out = blend(*(predict(m, values, known, feats, cache) for m in BLEND_OF))
    else:
        raise BadRequest(f"unknown method {method!r}; known: {', '.join(FILL_METHODS)}")
    cache[method] = out
    return out


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


def clustered_z(better: np.ndarray, groups: np.ndarray) -> float:
    """How clearly ``better`` (per value: the default's error minus the candidate's) is above zero: its mean over
    the cluster-robust standard error, clusters = ``groups`` (the hidden blocks; errors inside one block move
    together, so counting each value as independent evidence would overstate it)."""
    if len(better) == 0:
        return 0.0
    mean = float(better.mean())
    sums = pd.Series(better - mean).groupby(groups).sum().to_numpy()
    if len(sums) < 2:
        return 0.0
    se = float(np.sqrt((sums ** 2).sum() * len(sums) / (len(sums) - 1))) / len(better)
    return mean / se if se > 0 else (np.inf if mean > 0 else 0.0)


def choose_stable(errors: dict[str, np.ndarray], groups: np.ndarray, default: str, z: float = CHOICE_Z) -> str:
    """The method with the lowest mean error, but only if it beats ``default`` clearly (clustered z ≥ ``z``);
    otherwise ``default``. A per-bucket argmin on a few hidden blocks picks noisily; this shrinks the choice
    towards the default."""
    if default not in errors:
        return min(errors, key=lambda m: float(errors[m].mean()))
    best = min(errors, key=lambda m: float(errors[m].mean()))
    if best == default:
        return default
    return best if clustered_z(errors[default] - errors[best], groups) >= z else default


def stable_choice(errors: dict[str, np.ndarray], groups: np.ndarray, buckets: np.ndarray, labels: Sequence[str],
                  z: float = CHOICE_Z) -> dict[str, str]:
    """The choice per gap bucket, pooled before it is split: the default is the method with the lowest error over
    *all* backtest gaps; in a bucket another method replaces it only if it beats the default there by at least
    ``z`` clustered standard errors. ``errors``: per method the absolute errors of the same hidden values;
    ``groups``: their hidden block; ``buckets``: their gap bucket (a bucket without values keeps the default)."""
    default = min(errors, key=lambda m: float(errors[m].mean()))
    out = {}
    for label in labels:
        sel = buckets == label
        out[label] = choose_stable({m: e[sel] for m, e in errors.items()}, groups[sel], default, z) \
            if sel.any() else default
    return out


@dataclass
class Backtest:
    """MAE per method and gap bucket on hidden known values, the chosen method per bucket and the log-scale
    error quantiles (5 %, 95 %) of the chosen method per bucket (``method_quantiles``: of every method;
    ``per_bucket``: what the plain per-bucket minimum of the MAE would have chosen)."""

    mae: pd.DataFrame  # bucket × method
    chosen: dict[str, str]
    quantiles: dict[str, tuple[float, float]]
    hidden: int
    method_quantiles: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    per_bucket: dict[str, str] = field(default_factory=dict)


def backtest(values: pd.Series, feats: pd.DataFrame, methods: Sequence[str] = FILL_METHODS, seed: int = 0,
             rule: str = "stable") -> Backtest:
    """Hide known values in blocks, predict them with every method, choose per bucket (``rule``: ``stable`` –
    see :func:`choose_stable` – or ``per_bucket``, the lowest MAE)."""
    if rule not in CHOICE_RULES:
        raise BadRequest(f"unknown choice rule {rule!r}; known: {', '.join(CHOICE_RULES)}")
    known = values.notna().to_numpy()
    hidden = hide_blocks(known, seed)
    if hidden.sum() < 20:
        raise BadRequest("zu wenige bekannte Werte für den Backtest / too few known values to backtest the methods")
    train = known & ~hidden
    buckets = bucket_of(gap_lengths(hidden))[hidden]
    groups = np.cumsum(np.diff(np.r_[0, hidden.astype(int)]) == 1)[hidden]  # one id per hidden block
    truth = values.to_numpy()[hidden]
    cache: dict[str, np.ndarray] = {}
    preds = {m: predict(m, values, train, feats, cache)[hidden] for m in methods}
    errors = {m: np.abs(p - truth) for m, p in preds.items()}
    mae = pd.DataFrame({m: pd.Series(e).groupby(buckets).mean() for m, e in errors.items()})
    stable = stable_choice(errors, groups, buckets, BUCKETS)
    chosen, per_bucket, quantiles = {}, {}, {}
    method_quantiles: dict[str, dict[str, tuple[float, float]]] = {m: {} for m in methods}
    for bucket in BUCKETS:
        # no backtest block of this length fitted: all hidden values stand in for it
        sel = buckets == bucket if bucket in mae.index else np.ones(len(truth), dtype=bool)
        per_bucket[bucket] = min(methods, key=lambda m: float(errors[m][sel].mean()))
        chosen[bucket] = stable[bucket] if rule == "stable" else per_bucket[bucket]
        for m in methods:
            log_errors = np.log1p(truth[sel]) - np.log1p(np.clip(preds[m][sel], 0, None))
            method_quantiles[m][bucket] = (float(np.quantile(log_errors, ALPHA / 2)),
                                           float(np.quantile(log_errors, 1 - ALPHA / 2)))
        quantiles[bucket] = method_quantiles[chosen[bucket]][bucket]
    return Backtest(mae, chosen, quantiles, int(hidden.sum()), method_quantiles, per_bucket)


def fill_all_intervals(values: pd.Series, neighbours: pd.DataFrame | None = None, missing: pd.Index | None = None,
                       seed: int = 0, methods: Sequence[str] = (*FILL_METHODS, CHOSEN), rule: str = "stable"
                       ) -> tuple[dict[str, pd.DataFrame], Backtest]:
    """Every asked method's fill of the missing values (NaN, plus ``missing`` = flagged times treated as
    unknown): per method a frame indexed by time with ``value``, ``lower``, ``upper`` (90 %, from that method's
    backtest errors per gap length) and ``method``; ``rathaus`` is the choice per gap length."""
    values = _check_series(values)
    unknown = [m for m in methods if m not in (*FILL_METHODS, CHOSEN, PER_BUCKET)]
    if unknown:
        raise BadRequest(f"unknown method {', '.join(unknown)}; known: {', '.join((*FILL_METHODS, CHOSEN))}")
    if missing is not None and len(missing):
        values = values.mask(values.index.isin(missing))
    known = values.notna().to_numpy()
    if known.sum() < MIN_KNOWN:
        raise BadRequest(f"zu wenige bekannte Werte (mindestens {MIN_KNOWN}: 14 Tage) / too few known values "
                         f"(at least {MIN_KNOWN}: 14 days) to fill gaps")
    feats = features(values.index, neighbours)
    test = backtest(values, feats, seed=seed, rule=rule)
    gaps = ~known
    buckets = bucket_of(gap_lengths(gaps))[gaps]
    at = values.index[gaps]
    cache: dict[str, np.ndarray] = {}
    out: dict[str, pd.DataFrame] = {}

    def frame(value: np.ndarray, used: list[str]) -> pd.DataFrame:
        lo = np.array([test.method_quantiles[m][b][0] for m, b in zip(used, buckets, strict=True)])
        hi = np.array([test.method_quantiles[m][b][1] for m, b in zip(used, buckets, strict=True)])
        return pd.DataFrame({"value": value, "lower": np.expm1(np.log1p(value) + lo).clip(min=0),
                             "upper": np.expm1(np.log1p(value) + hi), "method": used}, index=at)

    choices = {CHOSEN: test.chosen, PER_BUCKET: test.per_bucket}
    wanted = [m for m in FILL_METHODS if m in methods]
    for name, choice in choices.items():
        if name in methods:
            wanted = list(dict.fromkeys([*wanted, *(choice[b] for b in np.unique(buckets))]))
    predictions = {m: np.clip(predict(m, values, known, feats, cache)[gaps], 0, None) for m in wanted}
    for m in methods:
        if m in choices:
            used = [choices[m][b] for b in buckets]
            value = np.array([predictions[u][i] for i, u in enumerate(used)]) if len(used) else np.zeros(0)
        else:
            used, value = [m] * len(at), predictions[m]
        out[m] = frame(value, used)
    return out, test


def fill_intervals(values: pd.Series, neighbours: pd.DataFrame | None = None, missing: pd.Index | None = None,
                   seed: int = 0) -> tuple[pd.DataFrame, Backtest]:
    """Fill the missing values of a 15-minute series (NaN, plus ``missing`` = flagged times treated as unknown).

    Returns a frame indexed by time with ``value``, ``lower``, ``upper`` (90 %), ``method`` and the backtest
    that chose the methods."""
    frames, test = fill_all_intervals(values, neighbours, missing, seed, methods=(CHOSEN,))
    return frames[CHOSEN], test


def neighbours_of(matrix: pd.DataFrame, station: str, k: int = NEIGHBOURS) -> pd.DataFrame:
    """The ``k`` other sensors whose log counts correlate most with the station's (at least 0.5)."""
    if matrix.shape[1] < 2:
        return pd.DataFrame(index=matrix.index)
    logs = np.log1p(matrix)
    corr = logs.drop(columns=[station]).corrwith(logs[station], min_periods=96 * 7).dropna()
    best = corr[corr >= 0.5].sort_values(ascending=False).index[:k]
    return matrix[list(best)]


def check_intervals(values: pd.Series, neighbours: pd.DataFrame | None = None,
                    config: CheckConfig | None = None) -> pd.DataFrame:
    """The plausibility checks of :mod:`rathaus.traffic.checks` on a 15-minute series, with quarter-hour,
    calendar and neighbours as the interval model's features."""
    values = _check_series(values)
    values = values.asfreq("15min")  # the rules compare with the same quarter-hour in other weeks by position
    return check_series(values, features(values.index, neighbours), resolution="15min",
                        config=config or CheckConfig.for_resolution("15min"))
