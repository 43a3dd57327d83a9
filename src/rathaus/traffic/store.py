"""Storing and reading traffic counts.

Raw counts are written with ``COPY`` into a temporary table and moved with ``INSERT … ON CONFLICT DO NOTHING``:
a re-import stores nothing new, and a value that differs from the stored one is kept as it was and reported as a
conflict. Flags and imputed values live in their own tables; ``export`` joins them into a ``quality`` column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from rathaus.core import imports
from rathaus.core.db import Database
from rathaus.core.db import session_scope as _session
from rathaus.core.errors import BadRequest, NotFound
from rathaus.core.imports import MAX_PROBLEMS
from rathaus.traffic.formats import TZ, ParsedFile, StationRow, TrafficFileError, parse
from rathaus.traffic.schema import (
    TrafficCount,
    TrafficFlag,
    TrafficImport,
    TrafficImputed,
    TrafficStation,
    TrafficWeather,
)

COPY_CHUNK = 200_000
WORK_MEM = "256MB"  # hash joins of a few million keys stay in memory
WEATHER_COLUMNS = ("min_temp", "max_temp", "precipitation", "cloud_cover", "sunshine_hours")
Progress = Callable[[int, int], None]


@dataclass(kw_only=True)
class ImportReport(imports.ImportReport):
    """What one import did. ``rows_read`` counts data lines; the other figures count values
    (one station × channel × time: a bicycle line carries up to three, a detector line one per detector)."""

    resolution: str
    encoding: str
    delimiter: str
    conflicts: int = 0
    empty: int = 0
    duplicates: int = 0
    weather: dict[str, int] = field(default_factory=dict)
    stations_created: list[str] = field(default_factory=list)
    stations: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # copy, compare, insert (seconds)

    def summary_line(self) -> str:
        return super().summary_line() + f", Konflikte/conflicts {self.conflicts}"


def _read(source: Path | str | bytes, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, name or "upload.csv"
    path = Path(source)
    try:
        return path.read_bytes(), name or path.name
    except FileNotFoundError:
        raise BadRequest(f"{path}: Datei nicht gefunden / no such file") from None
    except IsADirectoryError:
        raise BadRequest(f"{path}: ist ein Ordner / is a directory, give a CSV file") from None
    except OSError as exc:
        raise BadRequest(f"{path}: nicht lesbar / cannot be read: {exc.strerror}") from None


# --- stations --------------------------------------------------------------------------------------------------

def _upsert_stations(session: Session, rows: Iterable[StationRow]) -> tuple[list[str], list[str]]:
    rows = list(rows)
    if not rows:
        return [], []
    existing = set(session.scalars(sa.select(TrafficStation.id).where(TrafficStation.id.in_([r.id for r in rows]))))
    stmt = pg_insert(TrafficStation).values([
        {"id": r.id, "name": r.name, "lat": r.lat, "lon": r.lon, "directions": r.directions, "notes": r.notes,
         "kind": r.kind} for r in rows])
    stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={
        "name": stmt.excluded.name, "lat": stmt.excluded.lat, "lon": stmt.excluded.lon,
        "directions": stmt.excluded.directions, "notes": stmt.excluded.notes, "updated_at": sa.func.now()})
    session.execute(stmt)
    created = [r.id for r in rows if r.id not in existing]
    return created, [r.id for r in rows if r.id in existing]


def import_stations(session_or_db: Session | Database, source: Path | str | bytes, *, name: str | None = None,
                    user: str = "cli") -> ImportReport:
    """Read station metadata and create or update the stations (metadata is not raw data: it may change)."""
    data, name = _read(source, name)
    parsed = parse(data, name, "stations")
    t0 = time.perf_counter()
    with _session(session_or_db) as session:
        created, updated = _upsert_stations(session, parsed.stations)
        report = _report(parsed, name, data)
        report.stations_created, report.stations = created, [s.id for s in parsed.stations]
        report.stored, report.unchanged = len(created), len(updated)
        report.take_problems(parsed.problems)  # rows of the station file that were skipped, with their reasons
        report.seconds = time.perf_counter() - t0
        report.import_id = _record(session, report, user)
    return report


def _station_dict(s: TrafficStation) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "lat": s.lat, "lon": s.lon, "directions": list(s.directions or []),
            "notes": s.notes, "kind": s.kind}


def list_stations(session_or_db: Session | Database) -> list[dict[str, Any]]:
    """Every station with the series stored for it (channel, resolution, values, first and last time)."""
    with _session(session_or_db) as session:
        stations = session.scalars(sa.select(TrafficStation).order_by(TrafficStation.id)).all()
        rows = session.execute(sa.text(
            "SELECT station_id, channel, resolution, count(*), min(ts), max(ts) FROM traffic_counts "
            "GROUP BY station_id, channel, resolution ORDER BY station_id, resolution, channel")).all()
    series: dict[str, list[dict[str, Any]]] = {}
    for sid, channel, resolution, n, first, last in rows:
        series.setdefault(sid, []).append({"channel": channel, "resolution": resolution, "values": n,
                                           "first": first.astimezone(dt.UTC).isoformat(),
                                           "last": last.astimezone(dt.UTC).isoformat()})
    return [{**_station_dict(s), "series": series.get(s.id, [])} for s in stations]


def get_station(session_or_db: Session | Database, station: str) -> dict[str, Any]:
    with _session(session_or_db) as session:
        found = session.get(TrafficStation, station)
        if found is None:
            raise NotFound(f"unbekannte Zählstelle / unknown station: {station!r}")
        return _station_dict(found)


# --- import -----------------------------------------------------------------------------------------------------

def _report(parsed: ParsedFile, name: str, data: bytes) -> ImportReport:
    return ImportReport(import_id=None, file_name=name, sha256=hashlib.sha256(data).hexdigest(), kind=parsed.kind,
                        resolution=parsed.resolution, encoding=parsed.encoding, delimiter=parsed.delimiter,
                        rows_read=parsed.rows_read, empty=parsed.empty, duplicates=parsed.duplicates)


def _record(session: Session, report: ImportReport, user: str) -> int:
    report.take_problems(report.problems, report.problems_total)
    row = TrafficImport(file_name=report.file_name, sha256=report.sha256, kind=report.kind,
                        encoding=report.encoding, delimiter=report.delimiter, rows_read=report.rows_read,
                        stored=report.stored, unchanged=report.unchanged, rejected=report.rejected,
                        conflicts=report.conflicts, problems=report.problem_dicts(),
                        problems_total=report.problems_total, created_by=user, seconds=report.seconds,
                        summary={"resolution": report.resolution, "empty": report.empty,
                                 "duplicates": report.duplicates, "weather": report.weather,
                                 "stations_created": report.stations_created, "stations": report.stations})
    session.add(row)
    session.flush()
    return row.id


def _reject_unknown(parsed: ParsedFile, known: set[str], create: bool) -> tuple[list[StationRow], int]:
    """Stations of the file missing in the database: created (option) or their values rejected per row."""
    counts = parsed.counts
    unknown = sorted(set(counts["station"].unique()) - known) if len(counts) else []
    if parsed.weather is not None:
        unknown = sorted(set(unknown) | (set(parsed.weather["station"].unique()) - known))
    if not unknown:
        return [], 0
    kind = "detector" if parsed.kind == "detectors" else "bike"
    if create:
        return [StationRow(s, None, None, None, [], None, kind) for s in unknown], 0
    mask = counts["station"].isin(unknown)
    hint = ("nicht in den Stammdaten; mit --stations Stammdaten importieren oder --create-stations angeben / "
            "not in the station metadata; import it with --stations or pass --create-stations")
    if parsed.kind == "detectors":
        for det in unknown:
            parsed.problems.add(1, det, f"unbekannter Detektor / unknown detector {det!r}: {hint}")
    else:
        first = counts[mask].drop_duplicates("line")
        parsed.problems.add_many(first["line"], "zaehlstelle",
                                 [f"unbekannte Zählstelle / unknown station {s!r}: {hint}" for s in first["station"]])
    rejected = int(mask.sum())
    parsed.counts = counts[~mask].reset_index(drop=True)
    if parsed.weather is not None:
        parsed.weather = parsed.weather[~parsed.weather["station"].isin(unknown)]
    return [], rejected


def _copy(session: Session, table: str, frame: pd.DataFrame, progress: Progress | None, total: int) -> None:
    conn = session.connection().connection.driver_connection
    assert conn is not None  # a live psycopg connection inside the session's transaction
    columns = ", ".join(frame.columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, len(frame), COPY_CHUNK):
            copy.write(frame.iloc[start:start + COPY_CHUNK].to_csv(header=False, index=False))
            if progress:
                progress(min(start + COPY_CHUNK, len(frame)), total)


def _store_counts(session: Session, parsed: ParsedFile, import_id: int, report: ImportReport,
                  progress: Progress | None) -> None:
    """COPY into a temp table, compare with what is stored, insert only the new keys."""
    timings, t0 = report.timings, time.perf_counter()
    counts = parsed.counts
    total = len(counts) + 1
    session.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    # left by an earlier import in the same transaction of the caller
    session.execute(sa.text("DROP TABLE IF EXISTS tmp_traffic_counts, tmp_traffic_cmp"))
    session.execute(sa.text(
        "CREATE TEMP TABLE tmp_traffic_counts (station_id text, channel text, epoch bigint, value integer, "
        "line integer) ON COMMIT DROP"))
    epoch = counts["ts"].astype("datetime64[s, UTC]").astype("int64") if len(counts) else counts["ts"]
    frame = pd.DataFrame({"station_id": counts["station"], "channel": counts["channel"], "epoch": epoch,
                          "value": counts["value"], "line": counts["line"]})
    _copy(session, "tmp_traffic_counts", frame, progress, total)
    timings["copy"] = time.perf_counter() - t0
    session.execute(sa.text("ANALYZE tmp_traffic_counts"))
    # one pass: the stored value of every key of the file (NULL when new)
    session.execute(sa.text(
        "CREATE TEMP TABLE tmp_traffic_cmp ON COMMIT DROP AS SELECT t.station_id, t.channel, t.epoch, t.value, "
        "t.line, c.value AS old, c.import_id AS old_import FROM tmp_traffic_counts t LEFT JOIN traffic_counts c "
        "ON c.station_id = t.station_id AND c.channel = t.channel AND c.resolution = :r "
        "AND c.ts = to_timestamp(t.epoch)"), {"r": parsed.resolution})
    report.unchanged, report.conflicts, new = session.execute(sa.text(
        "SELECT count(*) FILTER (WHERE old = value), count(*) FILTER (WHERE old <> value), "
        "count(*) FILTER (WHERE old IS NULL) FROM tmp_traffic_cmp")).one()
    timings["compare"] = time.perf_counter() - t0 - timings["copy"]
    if report.conflicts:
        rows = session.execute(sa.text(
            f"SELECT line, channel, station_id, to_timestamp(epoch), value, old, old_import FROM tmp_traffic_cmp "
            f"WHERE old <> value ORDER BY line LIMIT {MAX_PROBLEMS}")).all()
        for line, channel, station, ts, new_value, old, old_import in rows:
            parsed.problems.add(line, channel, f"Konflikt: {station} {ts.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC hat "
                                               f"gespeichert {old} (Import {old_import}), Datei {new_value} – "
                                               f"Original behalten / conflict: stored {old}, file {new_value} – "
                                               "original kept")
        parsed.problems.total += report.conflicts - len(rows)
    report.stored = 0
    if new:
        result = session.execute(sa.text(
            "INSERT INTO traffic_counts (station_id, channel, resolution, ts, value, import_id) "
            "SELECT station_id, channel, :r, to_timestamp(epoch), value, :import_id FROM tmp_traffic_cmp "
            "WHERE old IS NULL ORDER BY station_id, channel, epoch ON CONFLICT DO NOTHING"),  # index order
            {"import_id": import_id, "r": parsed.resolution})
        report.stored = result.rowcount  # type: ignore[attr-defined]
    timings["insert"] = time.perf_counter() - t0 - timings["copy"] - timings["compare"]
    if progress:
        progress(total, total)


def _store_weather(session: Session, weather: pd.DataFrame, import_id: int, problems: imports.ProblemList
                   ) -> dict[str, int]:
    if weather is None or weather.empty:
        return {}
    rows = [{"station_id": r.station, "day": r.day, **{c: None if pd.isna(getattr(r, c)) else float(getattr(r, c))
                                                         for c in WEATHER_COLUMNS}, "import_id": import_id,
             "line": int(r.line)} for r in weather.itertuples(index=False)]
    stored_rows = session.execute(sa.select(TrafficWeather).where(
        TrafficWeather.station_id.in_({r["station_id"] for r in rows}),
        TrafficWeather.day.between(min(r["day"] for r in rows), max(r["day"] for r in rows)))).scalars().all()
    known = {(w.station_id, w.day): w for w in stored_rows}
    new, unchanged, conflicts = [], 0, 0
    for r in rows:
        old = known.get((r["station_id"], r["day"]))
        line = r.pop("line")
        if old is None:
            new.append(r)
        elif all(getattr(old, c) == r[c] for c in WEATHER_COLUMNS):
            unchanged += 1
        else:
            conflicts += 1
            problems.add(line, "wetter", f"Konflikt: Wetter {r['station_id']} {r['day']} weicht vom gespeicherten "
                                         f"ab – Original behalten / weather differs from the stored – original kept")
    if new:
        session.execute(pg_insert(TrafficWeather).on_conflict_do_nothing(), new)  # executemany
    return {"stored": len(new), "unchanged": unchanged, "conflicts": conflicts}


def import_file(session_or_db: Session | Database, path: Path | str | bytes, *, kind: str = "auto",
                stations_file: Path | str | bytes | None = None, user: str = "cli", name: str | None = None,
                create_stations: bool = False, progress: Progress | None = None) -> ImportReport:
    """Import one CSV (bicycle daily or 15-minute, detector matrix, or station metadata).

    Raises TrafficFileError (422) or UnsupportedMediaType (415) for a file that cannot be read; nothing is
    stored then. Per-row problems are in the report; the batch is recorded in ``traffic_imports``.
    """
    t0 = time.perf_counter()
    data, name = _read(path, name)
    parsed = parse(data, name, kind)
    if parsed.kind == "stations":
        return import_stations(session_or_db, data, name=name, user=user)
    with _session(session_or_db) as session:
        if stations_file is not None:
            import_stations(session, stations_file, user=user)
        ids = set(parsed.counts["station"].unique()) | (
            set(parsed.weather["station"].unique()) if parsed.weather is not None else set())
        known = set(session.scalars(sa.select(TrafficStation.id).where(TrafficStation.id.in_(ids)))) if ids else set()
        rejected = parsed.rejected  # before rows of unknown stations leave parsed.counts
        to_create, unknown_rejected = _reject_unknown(parsed, known, create_stations)
        created, _ = _upsert_stations(session, to_create)
        report = _report(parsed, name, data)
        report.rejected = rejected + unknown_rejected
        report.stations_created = created
        report.stations = sorted(set(parsed.counts["station"].unique()))
        report.import_id = _record(session, report, user)
        _store_counts(session, parsed, report.import_id, report, progress)
        report.weather = _store_weather(session, parsed.weather, report.import_id, parsed.problems)
        report.take_problems(parsed.problems)
        report.seconds = time.perf_counter() - t0
        _record_final(session, report)
    return report


def _record_final(session: Session, report: ImportReport) -> None:
    """The batch row (created first, so the counts can point at it) gets the final figures."""
    session.execute(sa.update(TrafficImport).where(TrafficImport.id == report.import_id).values(
        stored=report.stored, unchanged=report.unchanged, rejected=report.rejected, conflicts=report.conflicts,
        problems=report.problem_dicts(), problems_total=report.problems_total, seconds=report.seconds,
        summary={"resolution": report.resolution, "empty": report.empty, "duplicates": report.duplicates,
                 "weather": report.weather, "stations_created": report.stations_created,
                 "stations": report.stations}))


def get_import(session_or_db: Session | Database, import_id: int) -> dict[str, Any]:
    with _session(session_or_db) as session:
        row = session.get(TrafficImport, import_id)
        if row is None:
            raise NotFound(f"unbekannter Import / unknown import: {import_id}")
        return {c.name: getattr(row, c.name) for c in TrafficImport.__table__.columns} | {
            "created_at": row.created_at.isoformat()}


# --- reading ---------------------------------------------------------------------------------------------------

def _bounds(value: str | dt.date | dt.datetime | None) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize(TZ, ambiguous=True, nonexistent="shift_forward") if ts.tzinfo is None else ts


def _grid(first: pd.Timestamp, last: pd.Timestamp, resolution: str) -> pd.DatetimeIndex:
    if resolution == "day":
        return pd.date_range(first.tz_convert(TZ).normalize(), last.tz_convert(TZ).normalize(), freq="D", name="ts")
    return pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq="15min", name="ts").tz_convert(TZ)


def load_series(session_or_db: Session | Database, station: str, channel: str = "gesamt", resolution: str = "day",
                start: str | dt.date | dt.datetime | None = None, end: str | dt.date | dt.datetime | None = None,
                *, complete: bool = False) -> pd.DataFrame:
    """One series as a DataFrame indexed by ``ts`` (interval start, Europe/Berlin, tz-aware) with ``value``
    (Int64) and ``import_id``; daily series also carry the weather columns (NaN where not published).
    ``start``/``end`` are inclusive (naive values are local time). ``complete=True`` adds the missing
    intervals between the first and last time as rows with ``value`` NA."""
    if resolution not in ("day", "15min"):
        raise BadRequest("resolution must be day or 15min")
    lo, hi = _bounds(start), _bounds(end)
    with _session(session_or_db) as session:
        get_station(session, station)
        weather = ", " + ", ".join(f"w.{c}" for c in WEATHER_COLUMNS) if resolution == "day" else ""
        join = ("LEFT JOIN traffic_weather w ON w.station_id = c.station_id "
                "AND w.day = (c.ts AT TIME ZONE 'Europe/Berlin')::date") if resolution == "day" else ""
        sql = (f"SELECT c.ts, c.value, c.import_id{weather} FROM traffic_counts c {join} WHERE c.station_id = :s "
               "AND c.channel = :ch AND c.resolution = :r AND (CAST(:lo AS timestamptz) IS NULL OR c.ts >= :lo) "
               "AND (CAST(:hi AS timestamptz) IS NULL OR c.ts <= :hi) ORDER BY c.ts")
        rows = session.execute(sa.text(sql), {"s": station, "ch": channel, "r": resolution,
                                              "lo": lo.to_pydatetime() if lo is not None else None,
                                              "hi": hi.to_pydatetime() if hi is not None else None}).all()
    columns = ["ts", "value", "import_id", *(WEATHER_COLUMNS if resolution == "day" else ())]
    frame = pd.DataFrame(rows, columns=columns)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert(TZ)
    frame = frame.set_index("ts")
    frame["value"] = frame["value"].astype("Int64")
    frame["import_id"] = frame["import_id"].astype("Int64")
    for c in columns[3:]:
        frame[c] = frame[c].astype("float64")
    if complete and len(frame):
        frame = frame.reindex(_grid(lo or frame.index[0], hi or frame.index[-1], resolution))
    return frame


def load_matrix(session_or_db: Session | Database, stations: Sequence[str], channel: str = "gesamt",
                resolution: str = "15min") -> pd.DataFrame:
    """Several stations' raw values as one table: time (Europe/Berlin, tz-aware; every interval between the first
    and the last value) × station, NaN where a station has no value. One query, for detector networks."""
    if resolution not in ("day", "15min"):
        raise BadRequest("resolution must be day or 15min")
    with _session(session_or_db) as session:
        rows = session.execute(sa.text(
            "SELECT ts, station_id, value FROM traffic_counts WHERE station_id = ANY(:ids) AND channel = :ch "
            "AND resolution = :r"), {"ids": list(stations), "ch": channel, "r": resolution}).all()
    frame = pd.DataFrame(rows, columns=["ts", "station", "value"])
    if frame.empty:
        return pd.DataFrame(columns=list(stations), dtype="float64")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    table = frame.pivot(index="ts", columns="station", values="value").astype("float64")
    table = table.reindex(_grid(table.index.min(), table.index.max(), resolution).tz_convert("UTC"))
    table.index = table.index.tz_convert(TZ)
    table.index.name, table.columns.name = "ts", None
    return table.reindex(columns=[s for s in stations if s in table.columns])


def stations_with(session_or_db: Session | Database, resolution: str, channel: str = "gesamt") -> list[str]:
    """Ids of the stations that have raw values of this resolution and channel."""
    with _session(session_or_db) as session:
        return list(session.execute(sa.text(
            "SELECT DISTINCT station_id FROM traffic_counts WHERE resolution = :r AND channel = :ch ORDER BY 1"),
            {"r": resolution, "ch": channel}).scalars())


# --- flags and imputed values (written by the modelling side) -------------------------------------------------

def _records(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(rows, pd.DataFrame):
        frame = rows.reset_index() if "ts" not in rows.columns else rows
        return frame.to_dict("records")
    return [dict(r) for r in rows]


def _ts(value: Any) -> dt.datetime:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:  # local time; an ambiguous one (October) is read as summer time – pass UTC to be exact
        ts = ts.tz_localize(TZ, ambiguous=True)
    return ts.tz_convert("UTC").to_pydatetime()


def save_flags(session_or_db: Session | Database, flags: pd.DataFrame | Iterable[Mapping[str, Any]], *,
               run_id: str | None = None) -> str:
    """Store plausibility flags: station, channel, resolution, ts, check (or check_name), reason, detail."""
    run_id = run_id or str(uuid.uuid4())
    rows = [{"station_id": r.get("station_id", r.get("station")), "channel": r.get("channel", "gesamt"),
             "resolution": r.get("resolution", "day"), "ts": _ts(r["ts"]),
             "check_name": r.get("check_name", r.get("check")), "reason": r.get("reason", ""),
             "detail": r.get("detail") or {}, "run_id": run_id} for r in _records(flags)]
    if rows:
        with _session(session_or_db) as session:
            session.execute(sa.insert(TrafficFlag), rows)
    return run_id


def clear_flags(session_or_db: Session | Database, station: str, channel: str = "gesamt",
                resolution: str = "day") -> int:
    """Remove a series' plausibility flags before a new check run replaces them (raw values are untouched)."""
    with _session(session_or_db) as session:
        result = cast("CursorResult[Any]", session.execute(
            sa.text("DELETE FROM traffic_flags WHERE station_id = :s AND channel = :ch AND resolution = :r"),
            {"s": station, "ch": channel, "r": resolution}))
    return int(result.rowcount or 0)


def load_flags(session_or_db: Session | Database, station: str, channel: str = "gesamt", resolution: str = "day", *,
               with_checks: bool = False, aware: bool = False) -> Any:
    """The flagged times of a series (naive local time, or with ``aware`` tz-aware Europe/Berlin – exact also in
    the repeated October hour): a DatetimeIndex, or {time: set of checks}."""
    with _session(session_or_db) as session:
        rows = session.execute(sa.text("SELECT ts, check_name FROM traffic_flags WHERE station_id = :s AND "
                                       "channel = :ch AND resolution = :r ORDER BY ts"),
                               {"s": station, "ch": channel, "r": resolution}).all()
    found: dict[pd.Timestamp, set[str]] = {}
    for ts, check in rows:
        local = pd.Timestamp(ts).tz_convert(TZ)
        found.setdefault(local if aware else local.tz_localize(None), set()).add(check)
    return found if with_checks else pd.DatetimeIndex(sorted(found))


def save_imputed(session_or_db: Session | Database, values: pd.DataFrame | Iterable[Mapping[str, Any]], *,
                 run_id: str | None = None, method: str | None = None) -> str:
    """Store filled values (apart from the raw counts): station, channel, resolution, ts, value, lower, upper,
    method. The newest run wins in ``export``."""
    run_id = run_id or str(uuid.uuid4())

    def num(x: Any) -> float | None:
        return None if x is None or pd.isna(x) else float(x)

    rows = [{"station_id": r.get("station_id", r.get("station")), "channel": r.get("channel", "gesamt"),
             "resolution": r.get("resolution", "day"), "ts": _ts(r["ts"]), "value": float(r["value"]),
             "lower": num(r.get("lower")), "upper": num(r.get("upper")), "method": r.get("method") or method,
             "run_id": run_id} for r in _records(values)]
    if any(not r["method"] for r in rows):
        raise BadRequest("every imputed value needs a method")
    if rows:
        with _session(session_or_db) as session:
            session.execute(sa.insert(TrafficImputed), rows)
    return run_id


# --- export ----------------------------------------------------------------------------------------------------

def export_frame(session_or_db: Session | Database, station: str, channel: str | None = None,
                 resolution: str | None = None) -> pd.DataFrame:
    """Every interval between the first and last raw value of each series of the station, with ``quality``:
    raw, flagged (raw value with a plausibility flag), imputed (filled value with method and interval),
    missing (no value)."""
    with _session(session_or_db) as session:
        get_station(session, station)
        where = "station_id = :s" + (" AND channel = :ch" if channel else "") + (
            " AND resolution = :r" if resolution else "")
        params = {"s": station, "ch": channel, "r": resolution}
        raw = pd.DataFrame(session.execute(sa.text(
            f"SELECT channel, resolution, ts, value FROM traffic_counts WHERE {where}"), params).all(),
            columns=["channel", "resolution", "ts", "raw_value"])
        flags = pd.DataFrame(session.execute(sa.text(
            f"SELECT channel, resolution, ts, string_agg(DISTINCT check_name, ';') FROM traffic_flags "
            f"WHERE {where} GROUP BY channel, resolution, ts"), params).all(),
            columns=["channel", "resolution", "ts", "flags"])
        imputed = pd.DataFrame(session.execute(sa.text(
            f"SELECT DISTINCT ON (channel, resolution, ts) channel, resolution, ts, value, lower, upper, method "
            f"FROM traffic_imputed WHERE {where} ORDER BY channel, resolution, ts, created_at DESC, id DESC"),
            params).all(), columns=["channel", "resolution", "ts", "imputed", "lower", "upper", "method"])
    keys = ["channel", "resolution", "ts"]
    for frame in (raw, flags, imputed):
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    grids = []
    for (ch, res), part in raw.groupby(["channel", "resolution"], sort=True):
        grid = _grid(part["ts"].min(), part["ts"].max(), str(res)).tz_convert("UTC")
        grids.append(pd.DataFrame({"channel": ch, "resolution": res, "ts": grid}))
    columns = ["station", "channel", "resolution", "ts_utc", "local_time", "value", "raw_value", "quality",
               "method", "lower", "upper", "flags"]
    if not grids:
        return pd.DataFrame(columns=columns)
    out = pd.concat(grids, ignore_index=True).merge(raw, on=keys, how="left")
    out = out.merge(flags, on=keys, how="left").merge(imputed, on=keys, how="left")
    has_raw, flagged, filled = out["raw_value"].notna(), out["flags"].notna(), out["imputed"].notna()
    out["quality"] = "missing"
    out.loc[has_raw, "quality"] = "raw"
    out.loc[has_raw & flagged, "quality"] = "flagged"
    use_imputed = filled & (~has_raw | flagged)
    out.loc[use_imputed, "quality"] = "imputed"
    out["value"] = out["raw_value"].astype("float64").where(~use_imputed, out["imputed"])
    for c in ("method", "lower", "upper"):
        out[c] = out[c].where(use_imputed)
    out["raw_value"] = out["raw_value"].astype("Int64")
    out["station"] = station
    out["ts_utc"] = out["ts"]
    out["local_time"] = out["ts"].dt.tz_convert(TZ)
    return out[columns].sort_values(["resolution", "channel", "ts_utc"]).reset_index(drop=True)


def export(session_or_db: Session | Database, station: str, format: str = "csv", *, channel: str | None = None,
           resolution: str | None = None) -> bytes:
    """The station's series with a ``quality`` column as CSV (UTF-8, ISO times with offset) or Parquet."""
    if format not in ("csv", "parquet"):
        raise BadRequest("format must be csv or parquet")
    frame = export_frame(session_or_db, station, channel, resolution)
    if format == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    text = frame.assign(ts_utc=frame["ts_utc"].map(lambda t: t.isoformat()),
                        local_time=frame["local_time"].map(lambda t: t.isoformat())).to_csv(index=False)
    return text.encode("utf-8")


__all__ = [
    "ImportReport",
    "TrafficCount",
    "TrafficFileError",
    "clear_flags",
    "export",
    "export_frame",
    "get_import",
    "get_station",
    "import_file",
    "import_stations",
    "list_stations",
    "load_flags",
    "load_series",
    "save_flags",
    "save_imputed",
]
