"""Stored counts → checks → filled values → pictures: what ``rathaus traffic check|impute|report|plot`` run.

Works on the daily totals (channel ``gesamt``) of the bicycle stations in the database; the models are the
ones measured in ``bench/traffic_checks.py`` and ``bench/traffic_gaps.py``.

* ``check``: every station's raw series through :func:`rathaus.traffic.checks.check_series` with calendar,
  weather and the other stations as features; the new flags replace the station's earlier ones.
* ``impute``: days without a usable count (missing, zero/partial outage, or flagged by the checks) are filled
  with the per-station chosen method and a 90 % interval, stored apart from the raw counts.
* ``report``: suspicious sensors per day; ``plot``: a station's series with flags and fills, or the overview.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from rathaus.core.db import Database
from rathaus.core.errors import BadRequest
from rathaus.traffic.calendar import calendar_features
from rathaus.traffic.checks import check_series
from rathaus.traffic.daily import WEATHER_COLUMNS, DailyCounts, daily_counts_from_frame
from rathaus.traffic.formats import TZ
from rathaus.traffic.impute import fill
from rathaus.traffic.intervals import check_intervals, fill_intervals, neighbours_of
from rathaus.traffic.plots import health_overview, series_plot
from rathaus.traffic.store import WEATHER_COLUMNS as STORED_WEATHER
from rathaus.traffic.store import (
    clear_flags,
    export_frame,
    list_stations,
    load_flags,
    load_matrix,
    load_series,
    save_flags,
    save_imputed,
    stations_with,
)

Progress = Callable[[str], None]
Resolution = Literal["day", "15min"]


def station_ids(db: Session | Database, wanted: Sequence[str] | None) -> list[str]:
    known = [s["id"] for s in list_stations(db)]
    if not known:
        raise BadRequest("keine Zählstellen gespeichert / no stations stored; run rathaus traffic import first")
    if not wanted:
        return known
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise BadRequest(f"unbekannte Zählstelle(n) / unknown station(s): {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")
    return list(wanted)


def daily_frame(db: Session | Database, stations: Sequence[str]) -> pd.DataFrame:
    """The stored daily totals in the city's file shape (datum, zaehlstelle, gesamt, weather), gaps left out."""
    parts = []
    for station in stations:
        series = load_series(db, station, "gesamt", "day")
        if series.empty:
            continue
        parts.append(pd.DataFrame({
            "datum": series.index.tz_localize(None).strftime("%Y.%m.%d"), "zaehlstelle": station,
            "gesamt": series["value"].astype("float64").to_numpy(),
            **{city: series[stored].to_numpy() for city, stored in zip(WEATHER_COLUMNS, STORED_WEATHER,
                                                                        strict=True)}}))
    if not parts:
        raise BadRequest("keine Tageswerte gespeichert / no daily counts stored for these stations")
    return pd.concat(parts, ignore_index=True)


def raw_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Day × station table of the raw values (zeros kept), every day between the first and last one."""
    table = frame.assign(day=pd.to_datetime(frame["datum"], format="%Y.%m.%d")).pivot_table(
        index="day", columns="zaehlstelle", values="gesamt", aggfunc="first")
    return table.asfreq("D")


def check_features(raw: pd.DataFrame, data: DailyCounts, station: str) -> pd.DataFrame:
    others = np.log1p(raw.drop(columns=[station]).where(lambda x: x > 0))
    others.columns = [f"n_{c}" for c in others.columns]
    return pd.concat([calendar_features(raw.index), data.weather.reindex(raw.index), others], axis=1)


FLAG_COLUMNS = ["station", "ts", "check", "reason", "value", "expected", "lower", "upper"]


def _replace_flags(db: Session | Database, station: str, resolution: str, flags: pd.DataFrame) -> pd.DataFrame:
    """Store a check run's flags of one series in place of its earlier ones; returns them with the station."""
    clear_flags(db, station, "gesamt", resolution)
    flags = flags.assign(station=station, channel="gesamt", resolution=resolution,
                         detail=[{"value": v, "expected": e} for v, e in zip(
                             flags["value"].astype(float), flags["expected"].astype(float).round(1), strict=True)])
    if len(flags):
        save_flags(db, flags)
    return flags


def _flag_table(found: list[pd.DataFrame]) -> pd.DataFrame:
    found = [f for f in found if len(f)]
    return pd.concat(found, ignore_index=True)[FLAG_COLUMNS] if found else pd.DataFrame(columns=FLAG_COLUMNS)


def check(db: Session | Database, stations: Sequence[str] | None = None, progress: Progress | None = None,
          resolution: Resolution = "day") -> pd.DataFrame:
    """Run the checks on every (or the given) station and store the flags; returns them."""
    if resolution == "15min":
        return check_15min(db, stations, progress)
    names = station_ids(db, stations)
    frame = daily_frame(db, station_ids(db, None))  # neighbours: all stations
    raw, data = raw_counts(frame), daily_counts_from_frame(frame)
    found = []
    for station in names:
        if station not in raw.columns:
            continue
        flags = check_series(raw[station], check_features(raw, data, station))
        if len(flags):
            flags = flags.assign(ts=flags["ts"].dt.tz_localize(TZ))
        found.append(_replace_flags(db, station, "day", flags))
        if progress:
            progress(station)
    return _flag_table(found)


def impute(db: Session | Database, stations: Sequence[str] | None = None, progress: Progress | None = None,
           resolution: Resolution = "day") -> pd.DataFrame:
    """Fill every day without a usable count (missing, outage, flagged) and store the values; returns them."""
    if resolution == "15min":
        return impute_15min(db, stations, progress)
    names = station_ids(db, stations)
    frame = daily_frame(db, station_ids(db, None))
    data = daily_counts_from_frame(frame)
    filled = []
    for station in names:
        if station not in data.counts.columns:
            continue
        flagged = load_flags(db, station, "gesamt", "day")
        days = pd.DatetimeIndex(sorted(set(data.counts.index[data.counts[station].isna()])
                                       | {d for d in flagged if d in data.counts.index}))
        if len(days):
            hidden = data.with_hidden(station, days)
            values = fill(hidden, station, days)
            values = values.assign(station=station, channel="gesamt", resolution="day", method="rathaus",
                                   ts=values.index.tz_localize("Europe/Berlin"))
            save_imputed(db, values.reset_index(drop=True))
            filled.append(values)
        if progress:
            progress(station)
    columns = ["station", "ts", "value", "lower", "upper"]
    return pd.concat(filled, ignore_index=True)[columns] if filled else pd.DataFrame(columns=columns)


# --- 15-minute series (detectors, bicycle 15-minute files) ------------------------------------------------------

def interval_stations(db: Session | Database, wanted: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(stations to work on, all stations with 15-minute counts – the candidate neighbours)."""
    names = station_ids(db, wanted)
    available = stations_with(db, "15min")
    if not available:
        raise BadRequest("keine 15-Minuten-Werte gespeichert / no 15-minute counts stored")
    chosen = [s for s in names if s in available]
    if wanted and len(chosen) < len(names):
        missing = ", ".join(s for s in names if s not in available)
        raise BadRequest(f"keine 15-Minuten-Werte für / no 15-minute counts for: {missing}")
    return chosen, available


def check_15min(db: Session | Database, stations: Sequence[str] | None = None,
                progress: Progress | None = None) -> pd.DataFrame:
    """The plausibility checks on 15-minute series, with quarter-hour, calendar and the most correlated
    sensors as features; flags replace the station's earlier 15-minute flags."""
    names, available = interval_stations(db, stations)
    matrix = load_matrix(db, available)
    found = []
    for station in names:
        flags = check_intervals(matrix[station], neighbours_of(matrix, station))
        found.append(_replace_flags(db, station, "15min", flags))
        if progress:
            progress(station)
    return _flag_table(found)


def impute_15min(db: Session | Database, stations: Sequence[str] | None = None,
                 progress: Progress | None = None) -> pd.DataFrame:
    """Fill missing and flagged quarter-hours; the method per gap length is chosen by a backtest per station."""
    names, available = interval_stations(db, stations)
    matrix = load_matrix(db, available)
    filled = []
    for station in names:
        flagged = load_flags(db, station, "gesamt", "15min", aware=True)
        values, _ = fill_intervals(matrix[station], neighbours_of(matrix, station), missing=flagged)
        if len(values):
            values = values.assign(station=station, channel="gesamt", resolution="15min", ts=values.index)
            save_imputed(db, values.reset_index(drop=True))
            filled.append(values)
        if progress:
            progress(station)
    columns = ["station", "ts", "value", "lower", "upper", "method"]
    return pd.concat(filled, ignore_index=True)[columns] if filled else pd.DataFrame(columns=columns)


def report(db: Session | Database, start: str | None = None, end: str | None = None,
           resolution: Resolution = "day") -> pd.DataFrame:
    """Suspicious sensors per day: one row per day and station with the checks that fired and how many values
    they flagged (1 for a daily total, up to 96 quarter-hours a day)."""
    rows = []
    names = station_ids(db, None) if resolution == "day" else stations_with(db, "15min")
    for station in names:
        per_day: dict[Any, tuple[set[str], int]] = {}
        for ts, checks in load_flags(db, station, "gesamt", resolution, with_checks=True).items():
            found, count = per_day.get(ts.date(), (set(), 0))
            per_day[ts.date()] = (found | checks, count + 1)
        rows += [{"day": day, "station": station, "checks": ", ".join(sorted(found)), "flagged": count}
                 for day, (found, count) in per_day.items()]
    out = pd.DataFrame(rows, columns=["day", "station", "checks", "flagged"])
    if start:
        out = out[out["day"] >= pd.Timestamp(start).date()]
    if end:
        out = out[out["day"] <= pd.Timestamp(end).date()]
    return out.sort_values(["day", "station"]).reset_index(drop=True)


def plot_station(db: Session | Database, station: str) -> bytes:
    """PNG of the station's daily totals with flagged and filled values."""
    station_ids(db, [station])
    frame = export_frame(db, station, "gesamt", "day")
    if frame.empty:
        raise BadRequest(f"keine Tageswerte für {station} / no daily counts for {station}")
    days = pd.DatetimeIndex(frame["local_time"]).tz_localize(None)
    values = pd.Series(frame["raw_value"].astype("float64").to_numpy(), index=days)
    flagged = frame["flags"].notna().to_numpy()
    flags = pd.DataFrame({"ts": days[flagged], "check": frame.loc[flagged, "flags"].to_numpy()})
    used = (frame["quality"] == "imputed").to_numpy()
    imputed = pd.DataFrame({c: frame.loc[used, c].astype("float64").to_numpy() for c in ("value", "lower", "upper")},
                           index=days[used])
    return series_plot(station, values, flags, imputed)


def plot_health(db: Session | Database) -> bytes:
    """PNG overview: share of flagged, missing or filled days per station and month."""
    columns = {}
    for station in station_ids(db, None):
        frame = export_frame(db, station, "gesamt", "day")
        if len(frame):
            columns[station] = pd.Series(frame["quality"].to_numpy(),
                                         index=pd.DatetimeIndex(frame["local_time"]).tz_localize(None))
    if not columns:
        raise BadRequest("keine Tageswerte gespeichert / no daily counts stored")
    return health_overview(pd.DataFrame(columns))
