"""Readers for the City of Munich's traffic-count CSVs: bicycle stations (daily, 15 minutes), detector
matrices and station metadata.

Every reader returns clean, typed rows and a list of per-row problems (line, column, reason in German and
English); a file that is not a traffic CSV at all raises one file-level error. Local times are Europe/Berlin
and become UTC: the 23-hour day in March has no 02:00–02:45 (such rows are rejected), the 25-hour day in
October has 02:00–02:45 twice (the first occurrence is summer time, the second winter time).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rathaus.core.errors import UnsupportedMediaType
from rathaus.core.imports import ProblemList, UnreadableFile
from rathaus.core.textfiles import decode_text, looks_binary, sniff_delimiter
from rathaus.traffic.vocabulary import FileKind

TZ = "Europe/Berlin"
KINDS: tuple[str, ...] = tuple(k.value for k in FileKind if k is not FileKind.AUTO)
CHANNELS = ("gesamt", "richtung_1", "richtung_2")
WEATHER = {"min-temp": "min_temp", "max-temp": "max_temp", "niederschlag": "precipitation",
           "bewoelkung": "cloud_cover", "sonnenstunden": "sunshine_hours"}
WEATHER_RANGE = {"min_temp": (-40.0, 50.0), "max_temp": (-40.0, 50.0), "precipitation": (0.0, 500.0),
                 "cloud_cover": (0.0, 100.0), "sunshine_hours": (0.0, 24.0)}
# Counts above these are rejected as absurd (Munich's busiest bicycle station peaks at ~15,000 a day).
ABSURD = {"day": 100_000, "15min": 5_000}
DATETIME_COLUMNS = ("datetime", "zeit", "timestamp", "zeitpunkt", "datum_zeit")


class TrafficFileError(UnreadableFile):
    """The file is text but not a traffic CSV that rathaus can read (HTTP 422)."""

    status, code, title = 422, "unreadable-traffic-file", "Not a readable traffic count file"


@dataclass
class StationRow:
    id: str
    name: str | None
    lat: float | None
    lon: float | None
    directions: list[str]
    notes: str | None
    kind: str = "bike"


@dataclass
class ParsedFile:
    """Counts: columns station, channel, ts (UTC), value (int64), line. Weather: station, day, five values, line."""

    kind: str
    resolution: str  # day | 15min ("" for station metadata)
    encoding: str
    delimiter: str
    rows_read: int
    counts: pd.DataFrame
    weather: pd.DataFrame | None
    stations: list[StationRow]
    problems: ProblemList
    empty: int = 0  # empty count cells (no value, nothing stored)
    duplicates: int = 0  # identical duplicates collapsed
    cells: int = 0  # count cells read (a bike line has up to 3, a detector line one per detector)

    @property
    def rejected(self) -> int:
        return self.cells - self.empty - self.duplicates - len(self.counts)


# --- decoding and sniffing -------------------------------------------------------------------------------------

def decode(data: bytes, name: str = "file") -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else Windows-1252/Latin-1. Binary files raise 415."""
    if looks_binary(data):
        raise UnsupportedMediaType(f"{name}: keine Textdatei / not a text file (binary content); "
                                   "expected a CSV of traffic counts")
    if not data.strip():
        raise TrafficFileError(f"{name}: Datei ist leer / the file is empty")
    return decode_text(data)


def _norm(name: str) -> str:
    return name.strip().strip('"').strip().lstrip("\ufeff").lower().replace(" ", "_")


def _read_rows(text: str, name: str) -> tuple[list[str], list[str], list[list[str]], list[int], str]:
    """(normalised header, header as written, rows, their line numbers, delimiter)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    try:
        header = next(reader)
        rows, lines = [], []
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise TrafficFileError(f"{name}: kein lesbares CSV / not a readable CSV: {exc}") from None
    while header and not header[-1].strip():  # empty trailing columns
        header.pop()
    raw = [h.strip().strip('"').strip().lstrip("\ufeff") for h in header]
    return [_norm(h) for h in header], raw, rows, lines, delimiter


def detect_kind(header: list[str], rows: list[list[str]], name: str) -> str:
    cols = set(header)
    if {"zaehlstelle", "latitude", "longitude"} <= cols:
        return "stations"
    if {"datum", "zaehlstelle", "gesamt"} <= cols:
        if "uhrzeit_ende" in cols:
            i = header.index("uhrzeit_ende")
            ends = {r[i].strip() for r in rows[:200] if len(r) > i and r[i].strip()}
            return "bike-daily" if not ends or ends <= {"23:59", "24:00", "23:59:59"} else "bike-15min"
        return "bike-daily"
    if header and header[0] in DATETIME_COLUMNS and len(header) > 1:
        return "detectors"
    shown = ", ".join(h for h in header[:8] if h) or "none"
    raise TrafficFileError(
        f"{name}: keine Verkehrszählung erkannt / not a traffic count CSV (columns found: {shown}; expected "
        "datum, zaehlstelle, gesamt … or datetime + detector columns or station metadata)")


# --- values --------------------------------------------------------------------------------------------------

def _numbers(values: pd.Series, decimal_comma: bool) -> tuple[pd.Series, pd.Series]:
    """(float values, empty mask); unparseable cells become NaN but not empty."""
    s = values.fillna("").astype(str).str.strip()
    empty = s.eq("") | s.str.lower().isin(["na", "nan", "null", "-"])
    if decimal_comma:
        s = s.str.replace(r"^(-?\d{1,3})(\.\d{3})+(?=,|$)", lambda m: m.group(0).replace(".", ""), regex=True)
        s = s.str.replace(",", ".", regex=False)
    return pd.to_numeric(s.where(~empty, None), errors="coerce"), empty


def _dates(values: pd.Series) -> pd.Series:
    s = values.fillna("").astype(str).str.strip().str[:10]
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    for fmt in ("%Y.%m.%d", "%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d"):
        todo = out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    return out


def _times(values: pd.Series) -> pd.Series:
    """Time of day as a timedelta; NaT for unreadable times."""
    s = values.fillna("").astype(str).str.strip()
    parts = s.str.extract(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
    h, m = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")
    ok = h.between(0, 23) & m.between(0, 59)
    return pd.to_timedelta((h * 60 + m).where(ok), unit="min")


def localize(local: pd.Series, keys: list[pd.Series]) -> tuple[pd.Series, pd.Series]:
    """Naive Europe/Berlin times → UTC, in file order per key: the first occurrence of an ambiguous time
    (October) is summer time, the second winter time. Returns (utc, nonexistent mask)."""
    frame = pd.DataFrame({"t": local, **{f"k{i}": k for i, k in enumerate(keys)}})
    first = frame.groupby([*frame.columns[1:], "t"], sort=False, dropna=False).cumcount().eq(0).to_numpy()
    idx = pd.DatetimeIndex(local)
    utc = idx.tz_localize(TZ, ambiguous=first, nonexistent="NaT").tz_convert("UTC")
    nonexistent = pd.Series(np.asarray(utc.isna()) & np.asarray(local.notna()), index=local.index)
    return pd.Series(utc, index=local.index), nonexistent


def _has_offset(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).str.strip().head(50)
    return bool(len(sample)) and bool(sample.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).all())


def check_counts(frame: pd.DataFrame, resolution: str, decimal_comma: bool, problems: ProblemList
                 ) -> tuple[pd.DataFrame, int, int]:
    """frame: station, channel, ts, raw, line → valid rows with int value; problems for the others."""
    numbers, empty = _numbers(frame["raw"], decimal_comma)
    limit = ABSURD[resolution]
    numbers = numbers.where(frame["ts"].notna())  # rows without a usable time are reported already
    bad_number = ~empty & numbers.isna() & frame["ts"].notna()
    fractional = numbers.notna() & (numbers != np.floor(numbers))
    negative = numbers.notna() & (numbers < 0)
    absurd = numbers.notna() & (numbers > limit)
    for mask, reason in (
        (bad_number, "keine Zahl / not a number"),
        (fractional, "keine ganze Zahl / not a whole number"),
        (negative, "negative Zählung / negative count"),
        (absurd, f"unplausibel hoch (> {limit:,} pro Intervall) / absurdly high (> {limit:,} per interval)"),
    ):
        for channel, part in frame[mask].groupby("channel", sort=False):
            shown = [f"{reason}: {v!r}" for v in part["raw"]]
            problems.add_many(part["line"], str(channel), shown)
    good = numbers.notna() & ~fractional & ~negative & ~absurd & frame["ts"].notna()
    out = frame.loc[good, ["station", "channel", "ts", "line"]].copy()
    out["value"] = numbers[good].astype("int64")
    return _dedupe(out.reset_index(drop=True), problems), int((empty & frame["ts"].notna()).sum()), len(frame)


def _dedupe(frame: pd.DataFrame, problems: ProblemList) -> pd.DataFrame:
    """Identical duplicates collapse to the first; conflicting ones are all rejected."""
    keys = ["station", "channel", "ts"]
    dup = frame.duplicated(keys, keep=False)
    if not dup.any():
        frame.attrs["duplicates"] = 0
        return frame
    part = frame[dup]
    spread = part.groupby(keys, sort=False)["value"].transform("nunique")
    conflicting = part[spread > 1]
    identical = part[(spread == 1) & part.duplicated(keys, keep="first")]
    for _, group in conflicting.groupby(keys, sort=False):
        lines = ", ".join(str(x) for x in group["line"])
        values = ", ".join(str(x) for x in group["value"])
        reason = (f"doppelter Zeitpunkt mit widersprüchlichen Werten ({values}; Zeilen {lines}), abgelehnt / "
                  f"duplicated timestamp with conflicting values ({values}; lines {lines}), rejected")
        problems.add_many(group["line"], str(group["channel"].iloc[0]), reason)
    if len(identical):
        problems.add_many(identical["line"], None, "doppelter Zeitpunkt, gleicher Wert – zusammengefasst / "
                                                   "duplicated timestamp with the same value – collapsed")
    out = frame.drop(index=conflicting.index.union(identical.index)).reset_index(drop=True)
    out.attrs["duplicates"] = len(identical)
    return out


# --- the readers ------------------------------------------------------------------------------------------------

def _column(rows: list[list[str]], i: int | None) -> pd.Series:
    if i is None:
        return pd.Series([""] * len(rows), dtype=object)
    return pd.Series([r[i] if len(r) > i else "" for r in rows], dtype=object)


def read_bike(header: list[str], rows: list[list[str]], lines: list[int], kind: str, delimiter: str,
              problems: ProblemList) -> tuple[pd.DataFrame, pd.DataFrame | None, int, int, int]:
    idx = {h: i for i, h in enumerate(header)}
    line = pd.Series(lines, dtype="int64")
    station = _column(rows, idx["zaehlstelle"]).astype(str).str.strip()
    day = _dates(_column(rows, idx["datum"]))
    bad_day = day.isna()
    problems.add_many(line[bad_day], "datum", "Datum unlesbar / unreadable date (expected 2017.01.01, "
                                               "2017-01-01 or 01.01.2017)")
    no_station = station.eq("") & ~bad_day
    problems.add_many(line[no_station], "zaehlstelle", "Zählstelle fehlt / station missing")
    resolution = "day" if kind == "bike-daily" else "15min"
    if resolution == "day":
        local = day
    else:
        start = _times(_column(rows, idx.get("uhrzeit_start")))
        bad_time = ~bad_day & (start.isna() | (start.dt.total_seconds() % 900 != 0))
        problems.add_many(line[bad_time], "uhrzeit_start", "Uhrzeit unlesbar oder nicht im 15-Minuten-Raster / "
                                                            "unreadable time or not on the 15-minute grid")
        local = (day + start).where(~bad_time)
    utc, nonexistent = localize(local.where(~no_station), [station])
    problems.add_many(line[nonexistent], "uhrzeit_start", "Uhrzeit existiert nicht (Umstellung auf Sommerzeit) / "
                                                           "local time does not exist (change to summer time)")
    parts = [pd.DataFrame({"station": station, "channel": ch, "ts": utc, "raw": _column(rows, idx.get(ch)),
                           "line": line}) for ch in CHANNELS if ch in idx]
    counts, empty, cells = check_counts(pd.concat(parts, ignore_index=True), resolution, delimiter != ",",
                                        problems)
    weather = None
    present = [c for c in WEATHER if c in idx]
    if resolution == "day" and present:
        weather = pd.DataFrame({"station": station, "day": day.dt.date, "line": line})
        for col, name in WEATHER.items():
            values, _ = _numbers(_column(rows, idx.get(col)), delimiter != ",")
            lo, hi = WEATHER_RANGE[name]
            wrong = values.notna() & ~values.between(lo, hi)
            problems.add_many(line[wrong & ~bad_day], col, f"Wetterwert unplausibel, als leer gespeichert / "
                                                           f"implausible weather value, stored as empty "
                                                           f"(allowed {lo:g}–{hi:g})")
            weather[name] = values.where(~wrong).astype("float64")
        weather = weather[~bad_day & ~no_station].drop_duplicates(["station", "day"], keep="first")
    return counts, weather, empty, counts.attrs.get("duplicates", 0), cells


def read_detectors(header: list[str], rows: list[list[str]], lines: list[int], delimiter: str,
                   problems: ProblemList) -> tuple[pd.DataFrame, int, int, int]:
    line = pd.Series(lines, dtype="int64")
    raw_ts = _column(rows, 0).astype(str).str.strip()
    if _has_offset(raw_ts):
        utc = pd.to_datetime(raw_ts, errors="coerce", utc=True, format="ISO8601")
        nonexistent = pd.Series(False, index=raw_ts.index)
    else:
        local = pd.to_datetime(raw_ts, errors="coerce", dayfirst=False, format="mixed")
        utc, nonexistent = localize(local, [])
    bad = utc.isna() & ~nonexistent
    problems.add_many(line[bad], header[0], "Zeitpunkt unlesbar / unreadable timestamp")
    problems.add_many(line[nonexistent], header[0], "Uhrzeit existiert nicht (Umstellung auf Sommerzeit) / "
                                                     "local time does not exist (change to summer time)")
    off_grid = utc.notna() & (utc.dt.minute % 15 != 0)
    problems.add_many(line[off_grid], header[0], "nicht im 15-Minuten-Raster / not on the 15-minute grid")
    utc = utc.where(~off_grid)
    detectors = [h for h in header[1:] if h]
    width = len(header)
    matrix = pd.DataFrame([(r + [""] * width)[1:width] for r in rows], columns=header[1:width])
    parts = [pd.DataFrame({"station": det, "channel": "gesamt", "ts": utc, "raw": matrix[det], "line": line})
             for det in detectors]
    counts, empty, cells = check_counts(pd.concat(parts, ignore_index=True), "15min", delimiter != ",", problems)
    return counts, empty, counts.attrs.get("duplicates", 0), cells


def _float(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    try:
        return float(text) if text else None
    except ValueError:
        return None


def read_stations(header: list[str], rows: list[list[str]], lines: list[int], problems: ProblemList,
                  kind: str = "bike") -> list[StationRow]:
    idx = {h: i for i, h in enumerate(header)}

    def get(row: list[str], col: str) -> str:
        i = idx.get(col)
        return row[i].strip() if i is not None and len(row) > i else ""

    out: dict[str, StationRow] = {}
    for row, line in zip(rows, lines, strict=True):
        sid = get(row, "zaehlstelle")
        if not sid:
            problems.add(line, "zaehlstelle", "Zählstelle fehlt / station id missing")
            continue
        lat, lon = _float(get(row, "latitude")), _float(get(row, "longitude"))
        if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
            problems.add(line, "latitude", "Koordinaten außerhalb des Bereichs / coordinates out of range")
            lat = lon = None
        directions = [d for d in (get(row, "richtung_1"), get(row, "richtung_2")) if d]
        out[sid] = StationRow(sid, get(row, "zaehlstelle_lang") or None, lat, lon, directions,
                              get(row, "besonderheiten") or None, kind)
    return list(out.values())


def parse(data: bytes, name: str = "file", kind: FileKind | str = "auto") -> ParsedFile:
    """Read one file of any supported kind; raises TrafficFileError / UnsupportedMediaType for unreadable files."""
    if kind != "auto" and kind not in KINDS:
        raise TrafficFileError(f"unknown kind {kind!r}; use auto, {', '.join(KINDS)}")
    kind = str(kind)  # a FileKind is its plain value from here on
    text, encoding = decode(data, name)
    header, written, rows, lines, delimiter = _read_rows(text, name)
    found = detect_kind(header, rows, name)
    if kind != "auto" and kind != found and not {kind, found} <= {"bike-daily", "bike-15min"}:
        raise TrafficFileError(f"{name}: die Datei ist {found}, nicht {kind} / the file is {found}, not {kind}")
    kind = found if kind == "auto" else kind
    if not rows:
        raise TrafficFileError(f"{name}: keine Datenzeilen / no data rows below the header")
    problems = ProblemList()
    empty_counts = pd.DataFrame({"station": [], "channel": [], "ts": [], "value": [], "line": []})
    if kind == "stations":
        stations = read_stations(header, rows, lines, problems)
        return ParsedFile(kind, "", encoding, delimiter, len(rows), empty_counts, None, stations, problems)
    if kind == "detectors":
        counts, empty, dups, cells = read_detectors(written, rows, lines, delimiter, problems)
        weather = None
        resolution = "15min"
    else:
        counts, weather, empty, dups, cells = read_bike(header, rows, lines, kind, delimiter, problems)
        resolution = "day" if kind == "bike-daily" else "15min"
    return ParsedFile(kind, resolution, encoding, delimiter, len(rows), counts, weather, [], problems, empty, dups,
                      cells)
