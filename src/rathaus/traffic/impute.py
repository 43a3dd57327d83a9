"""Gap filling for daily bicycle counts: five methods behind one interface, each with a 90 % interval.

``fill(data, station, days, method)`` hides the station's counts on ``days`` first (so a hidden day's own count
can never reach a feature), fits the method on what is left and returns, per requested day, ``value``,
``lower`` and ``upper`` (the 90 % prediction interval) and ``gap_days`` (distance to the nearest known day).

Methods
-------
``linear``
    linear interpolation of the counts between the nearest known days before and after (one side: carried).
``seasonal``
    median of the station's known counts in the same month × weekday (all years).
``ratio``
    the Zürich ratio method adapted to daily counts: the nearest known day d' with the same weekday (up to eight
    weeks away, same regime) times a ratio that carries d over from d'. The ratio is the geometric mean of the
    correlated neighbours' day ratios c_n(d) / c_n(d') when neighbours counted on both days (they saw the same
    weather and holidays), otherwise the ratio of the station's month × weekday averages. Without a same-weekday
    day: the nearest known day × ratio of the weekday averages.
``gbm_plain``
    the baseline: ``HistGradientBoostingRegressor`` on log counts with calendar (weekday, month, day of year,
    year) and the day's weather, the station alone.
``gbm``
    the rathaus model: gradient boosting with calendar, Bavarian public and school holidays, bridge days, the
    Christmas period, weather, the station's known regime (level shifts) and its correlated neighbours. It
    predicts the station's log count *relative to its neighbours' anomaly that day* (the mean over available
    neighbours of log count minus the neighbour's own month × weekday × regime median), with each neighbour's
    anomaly also as a feature; neighbours missing that day are NaN (the trees route them) and the anomaly is
    averaged over those present (0 with none).
``blend``
    the geometric mean of ``ratio`` and ``gbm`` (their errors differ: the ratio method carries the station's
    own recent level, gbm the neighbours, weather and calendar).
``rathaus``
    per station and gap length (1, 2–3, 4+ days to the nearest known day), chosen by an inner backtest on the
    station's own known days: the method best over all inner gaps, unless another one is clearly better for
    this gap length (lower errors by two clustered standard errors; ``rathaus_per_bucket`` – the plain lowest
    MAE per gap length – is kept for comparison).

Intervals: split-conformal in log space. An inner backtest (seeded, independent of any evaluation mask) hides
scattered days and 7–28-day blocks of the known days, refits the method and collects log residuals; the 5 % and
95 % residual quantiles, per gap-length bucket where there are enough residuals, widen the point prediction.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from rathaus.core.errors import BadRequest
from rathaus.traffic.calendar import CALENDAR_COLUMNS, HOLIDAY_COLUMNS, calendar_features
from rathaus.traffic.daily import DailyCounts
from rathaus.traffic.intervals import stable_choice

METHODS = ("linear", "seasonal", "ratio", "gbm_plain", "gbm", "blend")
BLEND_OF = ("ratio", "gbm")
CHOSEN = "rathaus"
PER_BUCKET = "rathaus_per_bucket"  # the earlier choice (lowest inner MAE per gap bucket), kept for comparison
CHOICES = (CHOSEN, PER_BUCKET)
ALPHA = 0.10
INNER_FOLDS = 3
INNER_SEED_OFFSET = 10_007  # the inner backtest never reuses an evaluation seed's random stream
GAP_BUCKETS = ((1, 1), (2, 3), (4, 10_000))
MIN_BUCKET_RESIDUALS = 40
MAX_NEIGHBOURS = 3
MIN_NEIGHBOUR_CORR = 0.3
WEEKS_BACK = 8


@dataclass
class Filled:
    """One method's fill of one station: ``frame`` (value, lower, upper, gap_days per day) and the inner
    backtest's absolute errors per gap bucket (used to choose the method)."""

    method: str
    frame: pd.DataFrame
    inner_mae: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    inner: pd.DataFrame | None = None  # the inner backtest's rows (abs_error, bucket, group = hidden run)


# ---------------------------------------------------------------- helpers

def _bucket(gap_days: np.ndarray) -> np.ndarray:
    labels = np.empty(len(gap_days), dtype=object)
    for lo, hi in GAP_BUCKETS:
        labels[(gap_days >= lo) & (gap_days <= hi)] = f"{lo}-{hi}" if hi < 10_000 else f"{lo}+"
    return labels


def gap_days(known: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """Distance in days from each day to the nearest day with a known count (large if none)."""
    known_days = known.index[known.notna()].to_numpy()
    if len(known_days) == 0:
        return np.full(len(days), 10_000)
    pos = np.searchsorted(known_days, days.to_numpy())
    before = np.where(pos > 0, (days.to_numpy() - known_days[np.maximum(pos - 1, 0)]) / np.timedelta64(1, "D"),
                      np.inf)
    after_idx = np.minimum(pos, len(known_days) - 1)
    after = np.where(pos < len(known_days), (known_days[after_idx] - days.to_numpy()) / np.timedelta64(1, "D"),
                     np.inf)
    return np.minimum(before, after).astype(int)


def _profile(series: pd.Series, keys: list[np.ndarray]) -> pd.Series:
    frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)}, index=series.index)
    frame["v"] = series
    return frame.groupby([f"k{i}" for i in range(len(keys))])["v"].median()


def _lookup(profile: pd.Series, keys: list[np.ndarray]) -> np.ndarray:
    index = pd.MultiIndex.from_arrays(keys) if len(keys) > 1 else pd.Index(keys[0])
    return profile.reindex(index).to_numpy(dtype=float)


def _log_baseline(data: DailyCounts, station: str) -> pd.Series:
    """Median log count per (regime, month, weekday) of a station over its known days, for every day."""
    series = np.log(data.counts[station])
    idx = data.counts.index
    regime = data.regime(station).to_numpy()
    keys = [regime, idx.month.to_numpy(), idx.day_of_week.to_numpy()]
    known = series.notna().to_numpy()
    profile = _profile(series[known], [k[known] for k in keys])
    values = _lookup(profile, keys)
    coarse = _profile(series[known], [keys[0][known], keys[2][known]])  # regime × weekday
    values = np.where(np.isnan(values), _lookup(coarse, [keys[0], keys[2]]), values)
    values = np.where(np.isnan(values), float(np.nanmedian(series)) if known.any() else np.nan, values)
    return pd.Series(values, index=idx)


def correlated_neighbours(data: DailyCounts, station: str) -> list[str]:
    """Other stations whose daily log anomalies correlate with this station's on its known days (best first)."""
    own = np.log(data.counts[station]) - _log_baseline(data, station)
    scores: list[tuple[float, str]] = []
    for other in data.stations:
        if other == station:
            continue
        anomaly = np.log(data.counts[other]) - _log_baseline(data, other)
        both = own.notna() & anomaly.notna()
        if both.sum() < 60:
            continue
        corr = float(np.corrcoef(own[both], anomaly[both])[0, 1])
        if corr >= MIN_NEIGHBOUR_CORR:
            scores.append((corr, other))
    return [name for _, name in sorted(scores, reverse=True)[:MAX_NEIGHBOURS]]


# ---------------------------------------------------------------- point predictors

def predict_linear(data: DailyCounts, station: str, days: pd.DatetimeIndex) -> np.ndarray:
    series = data.counts[station]
    filled = series.interpolate(method="time", limit_area="inside").ffill().bfill()
    return filled.reindex(days).to_numpy(dtype=float)


def predict_seasonal(data: DailyCounts, station: str, days: pd.DatetimeIndex) -> np.ndarray:
    series = data.counts[station].dropna()
    fine = _profile(series, [series.index.month.to_numpy(), series.index.day_of_week.to_numpy()])
    values = _lookup(fine, [days.month.to_numpy(), days.day_of_week.to_numpy()])
    weekday = _profile(series, [series.index.day_of_week.to_numpy()])
    values = np.where(np.isnan(values), _lookup(weekday, [days.day_of_week.to_numpy()]), values)
    return np.where(np.isnan(values), float(series.median()), values)


def predict_ratio(data: DailyCounts, station: str, days: pd.DatetimeIndex) -> np.ndarray:
    counts = data.counts
    series = counts[station]
    regime = data.regime(station)
    neighbours = correlated_neighbours(data, station)
    known = series.dropna()
    profile = _profile(known, [regime[known.index].to_numpy(), known.index.month.to_numpy(),
                               known.index.day_of_week.to_numpy()])
    weekday_profile = _profile(known, [regime[known.index].to_numpy(), known.index.day_of_week.to_numpy()])

    def average(day: pd.Timestamp) -> float:
        key = (int(regime.get(day, regime.iloc[-1])), day.month, day.weekday())
        value = profile.get(key, np.nan)
        if np.isnan(value):
            value = weekday_profile.get((key[0], key[2]), np.nan)
        return float(value)

    out = np.full(len(days), np.nan)
    for i, day in enumerate(days):
        day_regime = int(regime.get(day, regime.iloc[-1]))
        candidates = [day + pd.Timedelta(weeks=sign * k) for k in range(1, WEEKS_BACK + 1) for sign in (-1, 1)]
        source = next((c for c in candidates if c in series.index and not np.isnan(series[c])
                       and int(regime[c]) == day_regime), None)
        if source is None:  # fallback: nearest known day of any weekday × ratio of the weekday averages
            same = known[regime[known.index] == day_regime]
            pool = same if len(same) else known
            source = pool.index[np.argmin(np.abs((pool.index - day).days))]
        ratios = [counts.at[day, n] / counts.at[source, n] for n in neighbours
                  if day in counts.index and counts.at[day, n] > 0 and counts.at[source, n] > 0]
        if ratios:
            factor = float(np.exp(np.mean(np.log(ratios))))
        else:
            a, b = average(day), average(source)
            factor = a / b if b > 0 and not np.isnan(a) else 1.0
        out[i] = series[source] * factor
    return out


def _weather(data: DailyCounts, days: pd.DatetimeIndex) -> pd.DataFrame:
    return data.weather.reindex(days)


def _plain_features(data: DailyCounts, days: pd.DatetimeIndex) -> pd.DataFrame:
    calendar = calendar_features(days)[list(CALENDAR_COLUMNS)]
    return pd.concat([calendar, _weather(data, days)], axis=1)


def _neighbour_frame(data: DailyCounts, station: str, days: pd.DatetimeIndex) -> pd.DataFrame:
    neighbours = correlated_neighbours(data, station)
    frame = pd.DataFrame(index=days)
    for n in neighbours:
        anomaly = np.log(data.counts[n]) - _log_baseline(data, n)
        frame[f"nb_{n}"] = anomaly.reindex(days).to_numpy()
    frame["nb_mean"] = frame.mean(axis=1) if neighbours else np.nan
    frame["nb_present"] = frame[[f"nb_{n}" for n in neighbours]].notna().sum(axis=1) if neighbours else 0
    return frame


def _rathaus_features(data: DailyCounts, station: str, days: pd.DatetimeIndex) -> pd.DataFrame:
    calendar = calendar_features(days)[[*CALENDAR_COLUMNS, *HOLIDAY_COLUMNS]]
    regime = data.regime(station, days).to_frame()
    return pd.concat([calendar, regime, _weather(data, days), _neighbour_frame(data, station, days)], axis=1)


def _gbm() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.07, max_leaf_nodes=15,
                                         min_samples_leaf=10, l2_regularization=1.0, random_state=0)


def _fit_predict_gbm(features: pd.DataFrame, target: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    train = target.notna()
    # a feature unknown on every training day (no neighbours, no weather, school holidays of an uncovered
    # year) carries nothing and would break the binning: leave it out
    features = features.loc[:, features[train.to_numpy()].notna().any(axis=0)]
    model = _gbm()
    # one thread: small data, and on a shared machine OpenMP's many threads made each fit ten times slower
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        model.fit(features[train.to_numpy()].to_numpy(dtype=float), target[train].to_numpy())
        return model.predict(features.reindex(days).to_numpy(dtype=float))


def predict_gbm_plain(data: DailyCounts, station: str, days: pd.DatetimeIndex) -> np.ndarray:
    index = data.counts.index.union(days)
    features = _plain_features(data, index)
    target = np.log(data.counts[station]).reindex(index)
    return np.exp(_fit_predict_gbm(features, target, days))


def predict_gbm(data: DailyCounts, station: str, days: pd.DatetimeIndex) -> np.ndarray:
    index = data.counts.index.union(days)
    features = _rathaus_features(data, station, index)
    offset = features["nb_mean"].fillna(0.0)
    target = np.log(data.counts[station]).reindex(index) - offset
    return np.exp(_fit_predict_gbm(features, target, days) + offset.reindex(days).to_numpy())


PREDICTORS = {
    "linear": predict_linear,
    "seasonal": predict_seasonal,
    "ratio": predict_ratio,
    "gbm_plain": predict_gbm_plain,
    "gbm": predict_gbm,
}


# ---------------------------------------------------------------- inner backtest, intervals, choice

def inner_masks(known_days: pd.DatetimeIndex, seed: int, folds: int = INNER_FOLDS) -> list[pd.DatetimeIndex]:
    """Seeded masks over a station's known days: per fold 5 % scattered days plus 7–28-day blocks (≈ 10 %)."""
    rng = np.random.default_rng(seed + INNER_SEED_OFFSET)
    masks = []
    for _ in range(folds):
        chosen: set[pd.Timestamp] = set()
        target = max(1, int(0.10 * len(known_days)))
        block_days = 0
        while block_days < target and len(known_days) > 30:
            start = known_days[rng.integers(0, len(known_days))]
            block = pd.date_range(start, periods=int(rng.integers(7, 29)), freq="D").intersection(known_days)
            chosen.update(block)
            block_days += len(block)
        singles = rng.choice(len(known_days), size=max(1, int(0.05 * len(known_days))), replace=False)
        chosen.update(known_days[singles])
        masks.append(pd.DatetimeIndex(sorted(chosen)))
    return masks


def _inner_predictions(data: DailyCounts, station: str, method: str, seed: int) -> pd.DataFrame:
    """The method's predictions for the inner masks' days (truth, prediction, gap days), one row per day."""
    known_days = data.counts.index[data.counts[station].notna()]
    rows = []
    for fold, mask in enumerate(inner_masks(known_days, seed)):
        inner = data.with_hidden(station, mask)
        run = np.cumsum(np.r_[True, np.diff(mask.to_numpy()) != np.timedelta64(1, "D")])
        rows.append(pd.DataFrame({
            "group": fold * 1_000_000 + run,
            "gap_days": gap_days(inner.counts[station], mask),
            "truth": data.counts.loc[mask, station].to_numpy(),
            "predicted": np.maximum(PREDICTORS[method](inner, station, mask), 0.0),
        }))
    return pd.concat(rows, ignore_index=True)


def _residuals(predictions: pd.DataFrame) -> pd.DataFrame:
    frame = predictions.copy()
    frame["log_residual"] = np.log(frame["truth"]) - np.log(np.maximum(frame["predicted"], 1.0))
    frame["abs_error"] = np.abs(frame["truth"] - frame["predicted"])
    frame["bucket"] = _bucket(frame["gap_days"].to_numpy())
    return frame


def _blend(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(a, 1.0) * np.maximum(b, 1.0))


def _intervals(value: np.ndarray, buckets: np.ndarray, residuals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = np.empty(len(value)), np.empty(len(value))
    pooled = residuals["log_residual"].to_numpy()
    for label in np.unique(buckets):
        these = residuals.loc[residuals["bucket"] == label, "log_residual"].to_numpy()
        source = these if len(these) >= MIN_BUCKET_RESIDUALS else pooled
        lo, hi = np.quantile(source, [ALPHA / 2, 1 - ALPHA / 2]) if len(source) else (0.0, 0.0)
        sel = buckets == label
        lower[sel] = np.maximum(value[sel], 1.0) * np.exp(lo)
        upper[sel] = np.maximum(value[sel], 1.0) * np.exp(hi)
    return lower, upper


def _check(data: DailyCounts, station: str, days: Iterable) -> pd.DatetimeIndex:
    if data.counts.empty:
        raise BadRequest("Keine Zähldaten / no counts given (empty series)")
    if station not in data.counts.columns:
        raise BadRequest(f"Unbekannte Zählstelle / unknown station {station!r}; "
                         f"bekannt / known: {', '.join(data.stations)}")
    index = pd.DatetimeIndex(pd.to_datetime(list(days))).normalize()
    if len(index) == 0:
        raise BadRequest("Keine Tage zum Füllen angegeben / no days to fill")
    return index


def fill_all(data: DailyCounts, station: str, days: Iterable, methods: Sequence[str] = METHODS,
             seed: int = 0) -> dict[str, Filled]:
    """Fill ``days`` of ``station`` with every method in ``methods`` (plus ``rathaus`` if asked for)."""
    index = _check(data, station, days)
    unknown = [m for m in methods if m not in (*METHODS, *CHOICES)]
    if unknown:
        raise BadRequest(f"Unbekannte Methode / unknown method: {', '.join(unknown)} "
                         f"(known: {', '.join((*METHODS, CHOSEN))})")
    hidden = data.with_hidden(station, index)
    if hidden.counts[station].notna().sum() < 30:
        raise BadRequest(f"Zählstelle {station!r} hat zu wenige bekannte Tage / "
                         f"station {station!r} has too few known days (fewer than 30) to fill gaps")
    gaps = gap_days(hidden.counts[station], index)
    buckets = _bucket(gaps)
    wanted = [m for m in METHODS if m in methods or set(CHOICES) & set(methods)]
    if "blend" in wanted:
        wanted = list(dict.fromkeys([*[m for m in wanted if m != "blend"], *BLEND_OF, "blend"]))
    values: dict[str, np.ndarray] = {}
    inner: dict[str, pd.DataFrame] = {}
    results: dict[str, Filled] = {}
    for method in wanted:
        started = time.perf_counter()
        if method == "blend":  # reuses its parts' fits and inner predictions (same masks)
            values[method] = _blend(*(values[m] for m in BLEND_OF))
            inner[method] = inner[BLEND_OF[0]].assign(
                predicted=_blend(*(inner[m]["predicted"].to_numpy() for m in BLEND_OF)))
        else:
            values[method] = np.maximum(PREDICTORS[method](hidden, station, index), 0.0)
            inner[method] = _inner_predictions(hidden, station, method, seed)
        residuals = _residuals(inner[method])
        lower, upper = _intervals(values[method], buckets, residuals)
        frame = pd.DataFrame({"value": values[method], "lower": lower, "upper": upper, "gap_days": gaps},
                             index=index)
        inner_mae = residuals.groupby("bucket")["abs_error"].mean().to_dict()
        inner_mae["all"] = float(residuals["abs_error"].mean())
        seconds = time.perf_counter() - started
        if method == "blend":
            seconds += sum(results[m].seconds for m in BLEND_OF)
        results[method] = Filled(method, frame, inner_mae, seconds, residuals)
    fitted = dict(results)
    for name in CHOICES:
        if name in methods:
            results[name] = choose(fitted, buckets, rule="stable" if name == CHOSEN else "per_bucket", name=name)
    return {m: results[m] for m in methods}  # in the order asked for


def choose(results: dict[str, Filled], buckets: np.ndarray, rule: str = "stable", name: str = CHOSEN) -> Filled:
    """Per gap bucket, choose a method by the inner backtest (never by the evaluation's errors).

    ``per_bucket``: the lowest inner MAE in the bucket. ``stable`` (the default,
    :func:`rathaus.traffic.intervals.stable_choice`): the method best over all inner days is the default; in a
    bucket another method replaces it only if its inner errors there are lower by at least two clustered standard
    errors (clusters = hidden runs of days; buckets with fewer than ``MIN_BUCKET_RESIDUALS`` inner days keep the
    default). The per-bucket minimum over a few dozen inner days picked noisily: on a held-out station it chose
    a method worse than the blend."""
    frames = []
    picked: dict[str, float] = {}
    index = next(iter(results.values())).frame.index
    choice = pd.Series("", index=index, dtype=object)
    fitted = {m: f for m, f in results.items() if m not in CHOICES}
    stable: dict[str, str] = {}
    if rule == "stable" and all(f.inner is not None for f in fitted.values()):
        inner = next(iter(fitted.values())).inner
        assert inner is not None
        errors = {m: f.inner["abs_error"].to_numpy() for m, f in fitted.items() if f.inner is not None}
        # a bucket with too few inner days is not split off: it keeps the pooled default
        counts = inner["bucket"].value_counts()
        inner_buckets = inner["bucket"].where(inner["bucket"].map(counts) >= MIN_BUCKET_RESIDUALS, "").to_numpy()
        stable = stable_choice(errors, inner["group"].to_numpy(), inner_buckets, [*np.unique(buckets), ""])
    for label in np.unique(buckets):
        if stable:
            best = fitted[stable[label]]
        else:
            best = min(fitted.values(), key=lambda f: f.inner_mae.get(label, f.inner_mae["all"]))
        choice[buckets == label] = best.method
        picked[label] = best.inner_mae.get(label, best.inner_mae["all"])
    for method in choice.unique():
        frames.append(results[method].frame[choice.to_numpy() == method])
    frame = pd.concat(frames).reindex(index)
    frame["method"] = choice
    return Filled(name, frame, picked, sum(f.seconds for f in fitted.values() if f.method != "blend"))


def fill(data: DailyCounts, station: str, days: Iterable, method: str = CHOSEN, seed: int = 0) -> pd.DataFrame:
    """Value and 90 % interval (``value``, ``lower``, ``upper``, ``gap_days``) for each day of ``days``."""
    return fill_all(data, station, days, methods=(method,), seed=seed)[method].frame
