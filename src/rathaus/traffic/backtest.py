"""Masked-gap benchmark for gap filling: hide known-good days, fill them, score against the truth.

Known-good days of a station: a positive count that is not an outage (see :mod:`rathaus.traffic.daily`) and a
complete weather record. Two seeded patterns hide some of them, one station at a time (the other stations keep
all their data, as real neighbouring sensors would):

* ``scattered``: 10 % of the good days, drawn singly;
* ``blocks``: non-overlapping runs of 7–28 consecutive days until about 10 % of the good days are hidden.

Every method is fitted on what is left (:func:`rathaus.traffic.impute.fill_all` hides the days before any
feature is built) and scored on the hidden good days: MAE, RMSE, MAPE on days with at least 100 bikes, and the
share of days inside the 90 % interval. ``run_eval`` works on any file in the city's daily format.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rathaus.core.errors import BadRequest
from rathaus.traffic.daily import WEATHER_COLUMNS, DailyCounts, read_daily_csv
from rathaus.traffic.evalresult import EvalResult
from rathaus.traffic.impute import CHOSEN, METHODS, fill_all

PATTERNS = ("scattered", "blocks")
HIDDEN_SHARE = 0.10
BLOCK_MIN, BLOCK_MAX = 7, 28
MAPE_MIN_COUNT = 100
BASELINE = "gbm_plain"
ALL_METHODS = (*METHODS, CHOSEN)


def good_days(data: DailyCounts, station: str) -> pd.DatetimeIndex:
    counts = data.counts[station]
    ok = counts.notna() & (counts > 0)
    weather_cols = [c for c in WEATHER_COLUMNS if c in data.weather.columns]
    if weather_cols:
        ok &= data.weather.reindex(counts.index)[weather_cols].notna().all(axis=1)
    return counts.index[ok.to_numpy()]


def hidden_days(good: pd.DatetimeIndex, pattern: str, rng: np.random.Generator) -> pd.DatetimeIndex:
    """The days a pattern hides (for blocks the whole runs; only good days among them are scored)."""
    target = max(1, round(HIDDEN_SHARE * len(good)))
    if pattern == "scattered":
        return pd.DatetimeIndex(sorted(good[rng.choice(len(good), size=target, replace=False)]))
    if pattern != "blocks":
        raise BadRequest(f"Unbekanntes Lückenmuster / unknown gap pattern {pattern!r}")
    taken: set[pd.Timestamp] = set()
    covered, attempts = 0, 0
    while covered < target and attempts < 10_000:
        attempts += 1
        start = good[rng.integers(0, len(good))]
        block = pd.date_range(start, periods=int(rng.integers(BLOCK_MIN, BLOCK_MAX + 1)), freq="D")
        padded = pd.date_range(block[0] - pd.Timedelta(days=1), block[-1] + pd.Timedelta(days=1), freq="D")
        if any(d in taken for d in padded):  # keep a known day between blocks
            continue
        taken.update(block)
        covered += len(block.intersection(good))
    return pd.DatetimeIndex(sorted(taken))


def score(truth: np.ndarray, frame: pd.DataFrame) -> dict[str, float]:
    value = frame["value"].to_numpy()
    errors = value - truth
    big = truth >= MAPE_MIN_COUNT
    inside = (truth >= frame["lower"].to_numpy()) & (truth <= frame["upper"].to_numpy())
    return {
        "n": len(truth),
        "mae": float(np.mean(np.abs(errors))) if len(truth) else float("nan"),
        "rmse": float(np.sqrt(np.mean(errors ** 2))) if len(truth) else float("nan"),
        "mape": float(np.mean(np.abs(errors[big]) / truth[big]) * 100) if big.any() else float("nan"),
        "coverage90": float(np.mean(inside)) if len(truth) else float("nan"),
    }


def evaluate(data: DailyCounts, stations: Sequence[str] | None = None, seed: int = 0,
             methods: Sequence[str] = ALL_METHODS, patterns: Sequence[str] = PATTERNS) -> EvalResult:
    stations = list(stations) if stations else data.stations
    unknown = [s for s in stations if s not in data.stations]
    if unknown:
        raise BadRequest(f"Unbekannte Zählstelle / unknown station: {', '.join(unknown)}; "
                         f"in der Datei / in the file: {', '.join(data.stations)}")
    rows: list[dict[str, Any]] = []
    chosen: dict[str, dict[str, dict[str, str]]] = {}
    for p_index, pattern in enumerate(patterns):
        pooled: dict[str, list[tuple[np.ndarray, pd.DataFrame]]] = {m: [] for m in methods}
        seconds: dict[str, float] = dict.fromkeys(methods, 0.0)
        for station in stations:
            good = good_days(data, station)
            if len(good) < 60:
                raise BadRequest(f"Zählstelle {station!r} hat zu wenige gute Tage ({len(good)}) für den Backtest / "
                                 f"station {station!r} has too few good days for the backtest")
            rng = np.random.default_rng([seed, p_index, data.stations.index(station)])
            hidden = hidden_days(good, pattern, rng)
            scored = hidden.intersection(good)
            filled = fill_all(data, station, hidden, methods=methods, seed=seed)
            truth = data.counts.loc[scored, station].to_numpy()
            for method, result in filled.items():
                frame = result.frame.loc[scored]
                rows.append({"pattern": pattern, "station": station, "method": method,
                             "seconds": result.seconds, **score(truth, frame)})
                pooled[method].append((truth, frame))
                seconds[method] += result.seconds
                if method == CHOSEN:
                    by_bucket = result.frame.assign(bucket=result.frame["gap_days"].clip(upper=4))
                    chosen.setdefault(pattern, {})[station] = {
                        str(int(b)) if b < 4 else "4+": str(g["method"].mode().iloc[0])
                        for b, g in by_bucket.groupby("bucket")}
        for method in methods:
            truth = np.concatenate([t for t, _ in pooled[method]])
            frame = pd.concat([f for _, f in pooled[method]])
            rows.append({"pattern": pattern, "station": "all", "method": method, "seconds": seconds[method],
                         **score(truth, frame)})
    return EvalResult(rows, chosen, {"seed": seed, "stations": stations})


RESOLUTIONS = ("day", "15min")


def run_eval(csv_path: str | Path, stations: Sequence[str] | None = None, seed: int = 0, resolution: str = "day",
             start: str | None = None, end: str | None = None) -> EvalResult:
    """Masked-gap benchmark of every gap-filling method on a file in the city's daily format, or with
    ``resolution="15min"`` in its quarter-hour format (:mod:`rathaus.traffic.backtest_15min`; ``start``/``end``
    limit it to a period of local days)."""
    if resolution not in RESOLUTIONS:
        raise BadRequest(f"Unbekannte Auflösung / unknown resolution {resolution!r}; use day or 15min")
    if resolution == "15min":
        from rathaus.traffic.backtest_15min import run_eval_15min

        return run_eval_15min(csv_path, stations, seed=seed, start=start, end=end)
    if start or end:
        raise BadRequest("--from/--to gibt es nur mit --resolution 15min / a period is only supported for 15-minute "
                         "files")
    data = read_daily_csv(csv_path)
    result = evaluate(data, stations=stations, seed=seed)
    result.info["file"] = str(csv_path)
    return result


def _fmt(value: float, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:,.{digits}f}"


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *[line(r) for r in rows]])


def format_table(result: EvalResult) -> str:
    """Plain-text tables: per pattern every method pooled over the stations, then MAE per station."""
    lines: list[str] = []
    methods = list(dict.fromkeys(r["method"] for r in result.rows))
    stations = list(dict.fromkeys(r["station"] for r in result.rows if r["station"] != "all"))
    for pattern in dict.fromkeys(r["pattern"] for r in result.rows):
        baseline = result.info.get("baseline", BASELINE)
        base = next((r for r in result.rows if (r["pattern"], r["station"], r["method"]) ==
                     (pattern, "all", baseline)), None)
        body = []
        for method in methods:
            r = result.get(pattern, method)
            ratio = r["mae"] / base["mae"] if base and base["mae"] else float("nan")
            body.append((method, str(r["n"]), _fmt(r["mae"]), _fmt(ratio, 2), _fmt(r["rmse"]), _fmt(r["mape"]),
                         _fmt(100 * r["coverage90"]), _fmt(r["seconds"])))
        lines.append(f"Lückenmuster / gap pattern: {pattern} (seed {result.info.get('seed')})")
        lines.append(table(body, ("Methode/method", result.info.get("unit", "Tage/days"), "MAE", f"×{baseline}",
                                  "RMSE", "MAPE %", "Abdeckung/coverage 90 % in %", "s")))
        per_station = [(s, *[_fmt(result.get(pattern, m, s)["mae"]) for m in methods]) for s in stations]
        lines.append("")
        lines.append(table(per_station, ("MAE je Zählstelle / per station", *methods)))
        if pattern in result.chosen:
            picks = "; ".join(f"{s}: " + ", ".join(f"{b}→{m}" for b, m in picks.items())
                              for s, picks in result.chosen[pattern].items())
            gap = "Lückenlänge" if result.info.get("resolution") == "15min" else "Lückenabstand"
            gap_en = "gap length" if result.info.get("resolution") == "15min" else "gap days"
            lines.append(f"rathaus wählte ({gap}→Methode) / chose ({gap_en}→method): {picks}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
