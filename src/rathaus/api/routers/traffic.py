"""Traffic counts over HTTP: upload a CSV, read an import's report, list stations, read a series, export.

Importing needs the role ``traffic-editor`` (or admin); reading needs ``traffic-viewer``, ``traffic-editor``,
``admin`` or ``auditor`` (see rathaus.traffic.access).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core.errors import BadRequest, PayloadTooLarge
from rathaus.http.deps import PrincipalDep, RuntimeDep
from rathaus.traffic import access, store
from rathaus.traffic.formats import TZ
from rathaus.traffic.vocabulary import FileKind

router = APIRouter(prefix="/api/v1/traffic", tags=["Traffic"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 413, 415, 422, 503)}
MAX_UPLOAD_BYTES = 50_000_000  # the upload request limit (RATHAUS_UPLOAD_MAX_MB + 1 MB) applies first
MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@router.post("/imports", status_code=201, responses=ERRORS)
async def upload_import(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="One CSV: bicycle daily/15-minute counts, detector matrix or "
                                                 "station metadata")],
    kind: Annotated[FileKind, Form()] = FileKind.AUTO,
    create_stations: Annotated[bool, Form(description="Create stations missing from the metadata")] = False,
) -> dict[str, Any]:
    """Import one file; the answer is the import's report with its per-row problems (at most 1,000)."""
    access.require_import(principal)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Datei zu groß / file too large (> {MAX_UPLOAD_BYTES:,} bytes); "
                              "import big files with 'rathaus traffic import'")
    name = (file.filename or "upload.csv").replace("/", "_")[:200]

    def run() -> store.ImportReport:
        return store.import_file(runtime.db, data, name=name, kind=kind, user=principal.id,
                                 create_stations=create_stations)

    report = await run_in_threadpool(run)
    return report.as_dict()


@router.get("/imports/{import_id}", responses=ERRORS)
def get_import(import_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """An import's figures and its problems (line, column, reason)."""
    access.require_read(principal)
    return store.get_import(runtime.db, import_id)


@router.get("/stations", responses=ERRORS)
def list_stations(runtime: RuntimeDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Every station with its stored series (channel, resolution, number of values, first and last time)."""
    access.require_read(principal)
    return store.list_stations(runtime.db)


def _time(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            raise ValueError(value)
        return (ts.tz_localize(TZ, ambiguous=True, nonexistent="shift_forward") if ts.tzinfo is None
                else ts).to_pydatetime()
    except (ValueError, TypeError, OverflowError):
        raise BadRequest(f"'{name}' is not a date or time: {value!r}") from None


def _plain(value: Any) -> int | float | None:
    if value is None or pd.isna(value):
        return None
    return int(value) if float(value).is_integer() and not isinstance(value, float) else float(value)


@router.get("/stations/{station}/series", responses=ERRORS)
def get_series(
    station: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    channel: Annotated[str, Query(max_length=100)] = "gesamt",
    resolution: Literal["day", "15min"] = "day",
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="date or time, inclusive; "
                                       "local time unless an offset is given")] = None,
    to: Annotated[str | None, Query(max_length=40, description="date or time, inclusive")] = None,
) -> dict[str, Any]:
    """Raw values of one series (times as ISO 8601 with offset, Europe/Berlin); daily series carry weather."""
    access.require_read(principal)
    lo, hi = _time(from_, "from"), _time(to, "to")
    if lo is not None and hi is not None and lo > hi:
        raise BadRequest("'from' must not be after 'to'")
    frame = store.load_series(runtime.db, station, channel, resolution, lo, hi)
    points = [{"ts": ts.isoformat(), **{k: _plain(v) for k, v in row.items()}}
              for ts, row in zip(frame.index, frame.to_dict("records"), strict=True)]
    return {"station": station, "channel": channel, "resolution": resolution, "points": points}


@router.get("/stations/{station}/export", responses={200: {"content": {m: {} for m in MEDIA.values()}}, **ERRORS})
def export_station(station: str, runtime: RuntimeDep, principal: PrincipalDep,
                   format: Literal["csv", "parquet"] = "csv") -> Response:
    """Every interval of the station's series with a quality column: raw, flagged, imputed, missing."""
    access.require_read(principal)
    data = store.export(runtime.db, station, format)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in station)[:80]
    return Response(data, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="traffic-{safe}.{format}"'})


# --- checks, filling, report, pictures (rathaus.traffic.pipeline) ----------------------------------------------

ResolutionQuery = Annotated[Literal["day", "15min"], Query(
    description="day: daily totals of the bicycle stations; 15min: quarter-hours (detectors)")]


def _station_list(stations: list[str] | None) -> list[str] | None:
    return [s for s in stations or [] if s.strip()] or None


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda t: t.isoformat())
    return [{k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in r.items()}
            for r in out.to_dict("records")]


@router.post("/checks", responses=ERRORS)
async def run_checks(runtime: RuntimeDep, principal: PrincipalDep,
                     station: Annotated[list[str] | None, Query(description="Only these stations")] = None,
                     resolution: ResolutionQuery = "day") -> dict[str, Any]:
    """Run the plausibility checks on the stored counts; the new flags replace earlier ones."""
    from rathaus.traffic import pipeline

    access.require_import(principal)
    flags = await run_in_threadpool(pipeline.check, runtime.db, _station_list(station), None, resolution)
    per_station = {s: part.groupby("check").size().to_dict() for s, part in flags.groupby("station")}
    return {"flags": len(flags), "per_station": per_station, "items": _rows(flags)}


@router.post("/imputations", responses=ERRORS)
async def run_imputation(runtime: RuntimeDep, principal: PrincipalDep,
                         station: Annotated[list[str] | None, Query(description="Only these stations")] = None,
                         resolution: ResolutionQuery = "day") -> dict[str, Any]:
    """Fill missing, outage and flagged values with a value and a 90 % interval (stored apart from raw counts)."""
    from rathaus.traffic import pipeline

    access.require_import(principal)
    filled = await run_in_threadpool(pipeline.impute, runtime.db, _station_list(station), None, resolution)
    return {"filled": len(filled), "items": _rows(filled)}


@router.get("/report", responses=ERRORS)
def suspicious_sensors(runtime: RuntimeDep, principal: PrincipalDep,
                       start: Annotated[dt.date | None, Query(alias="from")] = None,
                       end: Annotated[dt.date | None, Query(alias="to")] = None,
                       resolution: ResolutionQuery = "day") -> dict[str, Any]:
    """Suspicious sensors per day (from the last check run)."""
    from rathaus.traffic import pipeline

    access.require_read(principal)
    rows = pipeline.report(runtime.db, str(start) if start else None, str(end) if end else None, resolution)
    return {"items": [{"day": str(r["day"]), "station": r["station"], "checks": r["checks"].split(", "),
                       "flagged": int(r["flagged"])} for r in rows.to_dict("records")]}


@router.get("/stations/{station}/plot.png", responses={200: {"content": {"image/png": {}}}, **ERRORS})
def station_plot(station: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """PNG of the station's daily totals with flagged and filled values."""
    from rathaus.traffic import pipeline

    access.require_read(principal)
    return Response(pipeline.plot_station(runtime.db, station), media_type="image/png")


@router.get("/health.png", responses={200: {"content": {"image/png": {}}}, **ERRORS})
def health_plot(runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """PNG overview: share of flagged, missing or filled days per station and month."""
    from rathaus.traffic import pipeline

    access.require_read(principal)
    return Response(pipeline.plot_health(runtime.db), media_type="image/png")
