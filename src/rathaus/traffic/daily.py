"""The city's daily bicycle-count format (``rad_tage``) read into a station × day table plus the day's weather.

Format: one row per day and station with ``datum`` (YYYY.MM.DD), ``zaehlstelle``, ``gesamt`` (bikes per day) and
the weather columns ``min-temp``, ``max-temp`` (°C), ``niederschlag`` (mm), ``bewoelkung`` (%),
``sonnenstunden`` (h). Other columns (``uhrzeit_*``, ``richtung_*``) are ignored.

Cleaning, all of it explained by :class:`DailyCounts.flags`:

* a day listed twice for one station with different counts is unknown (both rows dropped);
* a count of 0 is a sensor outage, not a day without bicycles (the stations count thousands per day);
* a count below 10 % of the station's centred 29-day median is a partial outage (e.g. Margareten in
  January 2017 counting 1–7 bikes a day between days of 2 000) unless the other stations are also below 30 %
  of theirs that day (snow: 17/18 December 2022);
* days missing from the file are missing.

Known level shifts (:data:`KNOWN_LEVEL_SHIFTS`) split a station's history into regimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rathaus.core.errors import BadRequest
from rathaus.traffic.formats import TZ, WEATHER, parse

WEATHER_COLUMNS = ("min-temp", "max-temp", "niederschlag", "bewoelkung", "sonnenstunden")
REQUIRED_COLUMNS = ("datum", "zaehlstelle", "gesamt")
PARTIAL_OUTAGE_SHARE = 0.10
ROLLING_DAYS = 29

#: Regime changes documented by the city (radzaehlstellen.csv): the date each new regime starts.
#: Kreuther: counting loop widened to the whole path on 2020-04-01 (counts roughly doubled).
#: Arnulf: distorted by a construction site "since the beginning of 2021"; its 2022 counts are back at the
#: 2018 level, so 2021 is modelled as a regime of its own.
KNOWN_LEVEL_SHIFTS: dict[str, tuple[str, ...]] = {
    "Kreuther": ("2020-04-01",),
    "Arnulf": ("2021-01-01", "2022-01-01"),
}


@dataclass
class DailyCounts:
    """``counts``: day × station (float, NaN = unknown); ``weather``: day × weather column; ``flags``: why a
    day's count is unknown (``duplicate``, ``zero``, ``partial_outage``, ``missing``), same shape as counts."""

    counts: pd.DataFrame
    weather: pd.DataFrame
    flags: pd.DataFrame
    level_shifts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def stations(self) -> list[str]:
        return list(self.counts.columns)

    def regime(self, station: str, days: pd.DatetimeIndex | None = None) -> pd.Series:
        """0 before the station's first known level shift, 1 after it, …"""
        days = self.counts.index if days is None else days
        starts = [pd.Timestamp(s) for s in self.level_shifts.get(station, ())]
        values = np.zeros(len(days), dtype=int)
        for start in starts:
            values += np.asarray(days >= start, dtype=int)
        return pd.Series(values, index=days, name="regime")

    def with_hidden(self, station: str, days: pd.DatetimeIndex) -> DailyCounts:
        """A copy in which the station's counts on ``days`` are unknown (the other stations keep theirs)."""
        counts = self.counts.copy()
        counts.loc[counts.index.intersection(days), station] = np.nan
        return DailyCounts(counts, self.weather, self.flags, self.level_shifts)


def read_city_frame(path: str | Path) -> pd.DataFrame:
    """Read a file in the city's daily format with the importer's reader (:func:`rathaus.traffic.formats.parse`:
    comma/semicolon/tab, UTF-8/Latin-1, decimal comma, dates as YYYY.MM.DD, YYYY-MM-DD or DD.MM.YYYY) and
    return it as rows ``datum, zaehlstelle, gesamt`` + weather columns; rows the importer rejects (unreadable,
    negative or absurd counts, a day published twice with different counts) are left out, so those days are
    missing. Raises ``BadRequest``/``TrafficFileError`` with one readable line if the file is not daily counts."""
    path = Path(path)
    if not path.is_file():
        raise BadRequest(f"Datei nicht gefunden / file not found: {path}")
    parsed = parse(path.read_bytes(), path.name)
    if parsed.kind != "bike-daily":
        raise BadRequest(f"{path.name}: die Datei ist {parsed.kind}, erwartet sind Tageswerte im Format der Stadt "
                         f"/ the file is {parsed.kind}, expected the city's daily counts (datum, zaehlstelle, "
                         "gesamt, weather)")
    counts = parsed.counts[parsed.counts["channel"] == "gesamt"]
    if counts.empty:
        raise BadRequest(f"{path.name}: keine lesbaren Tageswerte (Spalte gesamt) / no readable daily totals "
                         f"(column gesamt); {parsed.problems.total} problems, first: "
                         f"{parsed.problems.items[0] if parsed.problems.items else '-'}")
    days = pd.DatetimeIndex(counts["ts"]).tz_convert(TZ).tz_localize(None).normalize()
    frame = pd.DataFrame({"datum": days.strftime("%Y.%m.%d"), "zaehlstelle": counts["station"].to_numpy(),
                          "gesamt": counts["value"].astype("float64").to_numpy()})
    if parsed.weather is not None and not parsed.weather.empty:
        weather = parsed.weather.assign(datum=pd.to_datetime(parsed.weather["day"]).dt.strftime("%Y.%m.%d"))
        weather = weather.rename(columns={stored: city for city, stored in WEATHER.items()})
        frame = frame.merge(weather[["station", "datum", *WEATHER]].rename(columns={"station": "zaehlstelle"}),
                            on=["zaehlstelle", "datum"], how="left")
    return frame


def read_daily_csv(path: str | Path, level_shifts: dict[str, tuple[str, ...]] | None = None) -> DailyCounts:
    """Read a file in the city's daily format (see :func:`read_city_frame`) into a :class:`DailyCounts`."""
    return daily_counts_from_frame(read_city_frame(path), level_shifts)


def daily_counts_from_frame(frame: pd.DataFrame,
                            level_shifts: dict[str, tuple[str, ...]] | None = None) -> DailyCounts:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise BadRequest(f"Spalten fehlen / missing columns: {', '.join(missing)} "
                         f"(expected the city's daily format: datum, zaehlstelle, gesamt, weather)")
    if frame.empty:
        raise BadRequest("Die Datei enthält keine Zeilen / the file has no rows")
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["datum"].astype(str), format="%Y.%m.%d", errors="coerce")
    if frame["date"].isna().all():
        raise BadRequest("Spalte datum ist nicht im Format YYYY.MM.DD / column datum is not YYYY.MM.DD")
    frame = frame.dropna(subset=["date"])
    frame["zaehlstelle"] = frame["zaehlstelle"].astype(str)
    frame["gesamt"] = pd.to_numeric(frame["gesamt"], errors="coerce")
    frame.loc[frame["gesamt"] < 0, "gesamt"] = np.nan

    days = pd.date_range(frame["date"].min(), frame["date"].max(), freq="D")
    duplicated = frame.duplicated(["date", "zaehlstelle"], keep=False)
    dup_keys = frame.loc[duplicated, ["date", "zaehlstelle"]].drop_duplicates()
    single = frame.loc[~duplicated]
    counts = single.pivot(index="date", columns="zaehlstelle", values="gesamt").reindex(days).astype(float)
    counts = counts.reindex(columns=sorted(frame["zaehlstelle"].unique()))
    counts.index.name = "date"
    counts.columns.name = None

    flags = pd.DataFrame("", index=counts.index, columns=counts.columns, dtype=object)
    flags[counts.isna()] = "missing"
    for _, row in dup_keys.iterrows():
        flags.loc[row["date"], row["zaehlstelle"]] = "duplicate"
    zero = counts == 0
    flags[zero] = "zero"
    counts = counts.mask(zero)
    relative = counts / counts.rolling(ROLLING_DAYS, center=True, min_periods=7).median()
    partial = relative < PARTIAL_OUTAGE_SHARE
    if counts.shape[1] > 1:  # a day low at every station is weather (snow), not an outage
        for station in counts.columns:
            others = relative.drop(columns=station).median(axis=1)
            partial[station] &= ~(others < 3 * PARTIAL_OUTAGE_SHARE)
    flags[partial] = "partial_outage"
    counts = counts.mask(partial)

    weather_cols = [c for c in WEATHER_COLUMNS if c in frame.columns]
    weather = frame.groupby("date")[weather_cols].mean() if weather_cols else pd.DataFrame(index=days)
    weather = weather.apply(pd.to_numeric, errors="coerce").reindex(days) if weather_cols else weather
    shifts = KNOWN_LEVEL_SHIFTS if level_shifts is None else level_shifts
    return DailyCounts(counts, weather, flags, {s: v for s, v in shifts.items() if s in counts.columns})
