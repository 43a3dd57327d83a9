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
from typing import Any

import numpy as np
import pandas as pd

from rathaus.core.errors import BadRequest
from rathaus.traffic.calendar import calendar_features
from rathaus.traffic.checks import check_series
from rathaus.traffic.daily import WEATHER_COLUMNS, DailyCounts, daily_counts_from_frame
from rathaus.traffic.impute import fill
from rathaus.traffic.plots import health_overview, series_plot
from rathaus.traffic.store import WEATHER_COLUMNS as STORED_WEATHER
from rathaus.traffic.store import (
    clear_flags,
    export_frame,
    list_stations,
    load_flags,
    load_series,
    save_flags,
    save_imputed,
)

Progress = Callable[[str], None]


def station_ids(db: Any, wanted: Sequence[str] | None) -> list[str]:
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


def daily_frame(db: Any, stations: Sequence[str]) -> pd.DataFrame:
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


def check(db: Any, stations: Sequence[str] | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Run the checks on every (or the given) station and store the flags; returns them."""
    names = station_ids(db, stations)
    frame = daily_frame(db, station_ids(db, None))  # neighbours: all stations
    raw, data = raw_counts(frame), daily_counts_from_frame(frame)
    found = []
    for station in names:
        if station not in raw.columns:
            continue
        flags = check_series(raw[station], check_features(raw, data, station))
        clear_flags(db, station, "gesamt", "day")
        if len(flags):
            flags = flags.assign(station=station, channel="gesamt", resolution="day",
                                 ts=flags["ts"].dt.tz_localize("Europe/Berlin"),
                                 detail=[{"value": v, "expected": e} for v, e in zip(
                                     flags["value"].astype(float), flags["expected"].astype(float).round(1),
                                     strict=True)])
            save_flags(db, flags)
            found.append(flags)
        if progress:
            progress(station)
    columns = ["station", "ts", "check", "reason", "value", "expected", "lower", "upper"]
    return pd.concat(found, ignore_index=True)[columns] if found else pd.DataFrame(columns=columns)


def impute(db: Any, stations: Sequence[str] | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Fill every day without a usable count (missing, outage, flagged) and store the values; returns them."""
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


def report(db: Any, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Suspicious sensors per day: one row per day and station with the checks that fired."""
    rows = []
    for station in station_ids(db, None):
        for day, checks in load_flags(db, station, "gesamt", "day", with_checks=True).items():
            rows.append({"day": day.date(), "station": station, "checks": ", ".join(sorted(checks))})
    out = pd.DataFrame(rows, columns=["day", "station", "checks"])
    if start:
        out = out[out["day"] >= pd.Timestamp(start).date()]
    if end:
        out = out[out["day"] <= pd.Timestamp(end).date()]
    return out.sort_values(["day", "station"]).reset_index(drop=True)


def plot_station(db: Any, station: str) -> bytes:
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


def plot_health(db: Any) -> bytes:
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
