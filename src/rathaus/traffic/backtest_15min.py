"""Masked-gap benchmark for 15-minute counts: hide known quarter-hours, fill them, score against the truth.

Reads a file in the city's quarter-hour format (``bike-15min``: ``datum; uhrzeit_start; uhrzeit_ende;
zaehlstelle; richtung_1; richtung_2; gesamt``, or a detector matrix) with the importer's reader
(:func:`rathaus.traffic.formats.parse`), so every value the importer would reject (negative such as the city's
``-1`` = no measurement, absurd, unreadable, a local time that does not exist) is missing here too.

Known-good quarter-hours of a station: a value on a day that is not an outage (daily total 0, or below 10 % of
the station's centred 29-day median while the other stations are not also low – the rules of
:mod:`rathaus.traffic.daily`, applied to the day's sum of quarter-hours). Zeros at night are real counts and are
scored. Four seeded patterns hide some of them, one station and one pattern at a time (the other stations keep
their data, as real neighbouring sensors would):

* ``scattered``: single quarter-hours (2 % of the good values), each between two known ones;
* ``hours``: gaps of 1–4 hours (4–16 quarter-hours) until about 2 % are hidden;
* ``days``: whole local days (about 3 %);
* ``blocks``: runs of 2–7 whole days until about 5 % are hidden.

Every method of :mod:`rathaus.traffic.intervals` is fitted on the rest – the station's own backtest that
calibrates intervals and chooses the method never sees the hidden values – and scored on the hidden good
values: MAE, RMSE, MAPE on values ≥ 20, coverage of the 90 % interval; per method × pattern, pooled and per
station.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rathaus.core.errors import BadRequest
from rathaus.traffic.daily import daily_counts_from_frame
from rathaus.traffic.evalresult import EvalResult
from rathaus.traffic.formats import CHANNELS, TZ, parse
from rathaus.traffic.intervals import CHOSEN, FILL_METHODS, SLOTS, fill_all_intervals, neighbours_of

PATTERNS = ("scattered", "hours", "days", "blocks")
SHARE = {"scattered": 0.02, "hours": 0.02, "days": 0.03, "blocks": 0.05}
HOURS = (4, 16)  # quarter-hours
BLOCK_DAYS = (2, 7)
MAPE_MIN_COUNT = 20
BASELINE = "ratio"  # the Zürich ratio method: the reference the goal is stated against
METHODS = (*FILL_METHODS, CHOSEN)
MIN_GOOD = 96 * 28


@dataclass
class IntervalCounts:
    """``counts``: time (UTC, every quarter-hour between the first and last value) × station, channel
    ``gesamt``, NaN = unknown; ``directions``: the same for ``richtung_1``/``richtung_2`` where the file has
    them; ``outage``: local day × station, True where the day is an outage (its values are not used)."""

    counts: pd.DataFrame
    directions: dict[str, pd.DataFrame]
    outage: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def stations(self) -> list[str]:
        return list(self.counts.columns)

    def local_days(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.counts.index.tz_convert(TZ).tz_localize(None).normalize())

    def usable(self) -> pd.DataFrame:
        """``counts`` with the values of outage days unknown."""
        days = self.local_days()
        bad = self.outage.reindex(days).fillna(False).to_numpy(dtype=bool)
        return self.counts.mask(bad)


def _period(frame: pd.DataFrame, start: str | None, end: str | None) -> pd.DataFrame:
    local = frame.index.tz_convert(TZ).tz_localize(None)
    keep = np.ones(len(frame), dtype=bool)
    try:
        if start:
            keep &= local >= pd.Timestamp(start)
        if end:
            keep &= local < pd.Timestamp(end) + pd.Timedelta(days=1)
    except ValueError:
        raise BadRequest(f"Datum unlesbar / unreadable date: {start or ''} {end or ''} (expected YYYY-MM-DD)") from None
    return frame[keep]


def read_interval_csv(path: str | Path, start: str | None = None, end: str | None = None) -> IntervalCounts:
    """A file in the city's quarter-hour format, read as the importer reads it, into a time × station table;
    ``start``/``end`` (local days, inclusive) keep only that period. Raises ``BadRequest``/``TrafficFileError``
    with one readable line when the file is absent, empty or not 15-minute counts."""
    path = Path(path)
    if not path.is_file():
        raise BadRequest(f"Datei nicht gefunden / file not found: {path}")
    parsed = parse(path.read_bytes(), path.name)
    if parsed.resolution != "15min":
        raise BadRequest(f"{path.name}: die Datei ist {parsed.kind or 'keine Zählung'}, erwartet sind "
                         f"Viertelstundenwerte / the file is {parsed.kind or 'not counts'}, expected 15-minute counts "
                         "(datum, uhrzeit_start, uhrzeit_ende, zaehlstelle, richtung_1, richtung_2, gesamt – or a "
                         "detector matrix)")
    counts = parsed.counts
    total = counts[counts["channel"] == "gesamt"]
    if total.empty:
        first = parsed.problems.items[0] if parsed.problems.items else "-"
        raise BadRequest(f"{path.name}: keine lesbaren Viertelstundenwerte (Spalte gesamt) / no readable 15-minute "
                         f"counts (column gesamt); {parsed.problems.total} problems, first: {first}")
    ts = pd.DatetimeIndex(pd.to_datetime(total["ts"], utc=True))
    grid = pd.date_range(ts.min(), ts.max(), freq="15min")

    def table(part: pd.DataFrame) -> pd.DataFrame:
        frame = part.assign(ts=pd.to_datetime(part["ts"], utc=True)).pivot(index="ts", columns="station",
                                                                           values="value")
        frame = frame.astype("float64").reindex(grid)
        frame.index.name, frame.columns.name = "ts", None
        return _period(frame.reindex(columns=sorted(frame.columns)), start, end)

    matrix = table(total)
    if matrix.empty or matrix.notna().sum().sum() == 0:
        raise BadRequest(f"{path.name}: keine Werte im Zeitraum / no values in the period {start or ''}–{end or ''}")
    directions = {ch: table(counts[counts["channel"] == ch]).reindex(columns=matrix.columns)
                  for ch in CHANNELS[1:] if (counts["channel"] == ch).any()}
    outage = outage_days(matrix)
    info = {"file": path.name, "rows": parsed.rows_read, "values": int(matrix.notna().sum().sum()),
            "rejected": parsed.rejected, "problems": parsed.problems.total, "kind": parsed.kind,
            "outage_days": {s: int(outage[s].sum()) for s in outage.columns}}
    return IntervalCounts(matrix, directions, outage, info)


def outage_days(matrix: pd.DataFrame) -> pd.DataFrame:
    """Local day × station: the daily sum of a (nearly) complete day is an outage by the daily rules (0, or a
    partial outage); incomplete days are not judged."""
    local = pd.DatetimeIndex(matrix.index.tz_convert(TZ).tz_localize(None).normalize())
    sums = matrix.groupby(local).sum(min_count=1)
    present = matrix.notna().groupby(local).sum()
    complete = present >= 0.9 * SLOTS
    rows = sums.where(complete).stack().dropna().rename("gesamt").reset_index()
    rows.columns = ["date", "zaehlstelle", "gesamt"]
    if rows.empty:
        return pd.DataFrame(False, index=sums.index, columns=matrix.columns)
    rows["datum"] = rows["date"].dt.strftime("%Y.%m.%d")
    flags = daily_counts_from_frame(rows[["datum", "zaehlstelle", "gesamt"]], level_shifts={}).flags
    outage = flags.isin(["zero", "partial_outage"]).reindex(index=sums.index, columns=matrix.columns)
    return outage.fillna(False).astype(bool)


# ---------------------------------------------------------------------------------------------- masks

def _day_spans(days: pd.DatetimeIndex) -> list[tuple[int, int]]:
    """(start, stop) positions of each local day in the series."""
    codes = np.flatnonzero(np.r_[True, days[1:] != days[:-1], True])
    return [(int(a), int(b)) for a, b in itertools.pairwise(codes)]


def hide(good: np.ndarray, days: pd.DatetimeIndex, pattern: str, rng: np.random.Generator) -> np.ndarray:
    """The positions a pattern hides (always with a good value on either side of each gap)."""
    if pattern not in PATTERNS:
        raise BadRequest(f"Unbekanntes Lückenmuster / unknown gap pattern {pattern!r}; known: {', '.join(PATTERNS)}")
    n = len(good)
    target = max(1, round(SHARE[pattern] * good.sum()))
    hidden = np.zeros(n, dtype=bool)
    covered = attempts = 0
    spans = _day_spans(days) if pattern in ("days", "blocks") else []
    while covered < target and attempts < 20_000:
        attempts += 1
        if pattern in ("scattered", "hours"):
            length = 1 if pattern == "scattered" else int(rng.integers(HOURS[0], HOURS[1] + 1))
            start = int(rng.integers(1, n - length - 1))
            stop = start + length
            if not good[start - 1:stop + 1].all():
                continue
        else:
            ndays = 1 if pattern == "days" else int(rng.integers(BLOCK_DAYS[0], BLOCK_DAYS[1] + 1))
            first = int(rng.integers(1, len(spans) - ndays))
            start, stop = spans[first][0], spans[first + ndays - 1][1]
            if stop >= n or not (good[start - 1] and good[stop]) or good[start:stop].mean() < 0.95:
                continue
        if hidden[max(0, start - 2):stop + 2].any():  # a known value between two gaps
            continue
        hidden[start:stop] = True
        covered += int(good[start:stop].sum())
    return hidden


# ---------------------------------------------------------------------------------------------- scoring

def score(truth: np.ndarray, frame: pd.DataFrame) -> dict[str, float]:
    value = frame["value"].to_numpy(dtype=float)
    errors = value - truth
    big = truth >= MAPE_MIN_COUNT
    inside = (truth >= frame["lower"].to_numpy(dtype=float)) & (truth <= frame["upper"].to_numpy(dtype=float))
    n = len(truth)
    return {
        "n": n,
        "mae": float(np.mean(np.abs(errors))) if n else float("nan"),
        "rmse": float(np.sqrt(np.mean(errors ** 2))) if n else float("nan"),
        "mape": float(np.mean(np.abs(errors[big]) / truth[big]) * 100) if big.any() else float("nan"),
        "coverage90": float(np.mean(inside)) if n else float("nan"),
    }


def evaluate_15min(data: IntervalCounts, stations: Sequence[str] | None = None, seed: int = 0,
                   methods: Sequence[str] = METHODS, patterns: Sequence[str] = PATTERNS) -> EvalResult:
    """Hide, fill and score every (or the given) station once per pattern; rows as in
    :class:`rathaus.traffic.backtest.EvalResult` (station ``"all"`` pools the stations)."""
    stations = list(stations) if stations else data.stations
    unknown = [s for s in stations if s not in data.stations]
    if unknown:
        raise BadRequest(f"Unbekannte Zählstelle / unknown station: {', '.join(unknown)}; "
                         f"in der Datei / in the file: {', '.join(data.stations)}")
    usable = data.usable()
    days = data.local_days()
    rows: list[dict[str, Any]] = []
    chosen: dict[str, dict[str, dict[str, str]]] = {}
    for p_index, pattern in enumerate(patterns):
        pooled: dict[str, list[tuple[np.ndarray, pd.DataFrame]]] = {m: [] for m in methods}
        for station in stations:
            values = usable[station]
            good = values.notna().to_numpy()
            if good.sum() < MIN_GOOD:
                raise BadRequest(f"Zählstelle {station!r} hat zu wenige gute Viertelstunden ({int(good.sum())}, "
                                 f"mindestens {MIN_GOOD}: 4 Wochen) / station {station!r} has too few good "
                                 "quarter-hours for the backtest")
            rng = np.random.default_rng([seed, p_index, data.stations.index(station)])
            hidden = hide(good, days, pattern, rng)
            scored = values.index[hidden & good]
            masked = values.mask(hidden)
            others = usable.copy()
            others[station] = masked
            frames, test = fill_all_intervals(masked, neighbours_of(others, station), seed=seed, methods=methods)
            truth = values[scored].to_numpy()
            for method, frame in frames.items():
                part = frame.loc[scored]
                rows.append({"pattern": pattern, "station": station, "method": method, "seconds": float("nan"),
                             **score(truth, part)})
                pooled[method].append((truth, part))
            chosen.setdefault(pattern, {})[station] = dict(test.chosen)
        for method in methods:
            truth = np.concatenate([t for t, _ in pooled[method]])
            frame = pd.concat([f for _, f in pooled[method]])
            rows.append({"pattern": pattern, "station": "all", "method": method, "seconds": float("nan"),
                         **score(truth, frame)})
    return EvalResult(rows, chosen, {"seed": seed, "stations": stations, "baseline": BASELINE,
                                     "unit": "Viertelstunden/quarter-hours", "resolution": "15min", **data.info})


def run_eval_15min(csv_path: str | Path, stations: Sequence[str] | None = None, seed: int = 0,
                   start: str | None = None, end: str | None = None) -> EvalResult:
    """Masked-gap benchmark of every 15-minute gap-filling method on a file in the city's quarter-hour format."""
    return evaluate_15min(read_interval_csv(csv_path, start, end), stations=stations, seed=seed)
