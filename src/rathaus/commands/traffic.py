"""``rathaus traffic``: import, check, impute, report, plot, export and eval of traffic counts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from rathaus.commands.common import (
    cli_principal,
    console,
    err_console,
    import_files,
    open_runtime,
    print_import_report,
)
from rathaus.core.errors import BadRequest
from rathaus.core.files import atomic_write
from rathaus.traffic.vocabulary import FileKind

traffic_app = typer.Typer(help="Verkehrszählungen / traffic counts: import, check, impute, report, plot, export, eval.",
                          no_args_is_help=True)



@traffic_app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(help="CSV files of the City of Munich (bicycle daily or 15-minute "
                                                "counts, detector matrices, station metadata).",
                                                show_default=False)],
    stations: Annotated[Path | None, typer.Option("--stations", help="Station metadata CSV, imported first "
                                                  "(zaehlstelle, zaehlstelle_lang, latitude, …).")] = None,
    kind: Annotated[FileKind, typer.Option("--kind", help="File kind; auto detects it from the columns.")]
    = FileKind.AUTO,
    create_stations: Annotated[bool, typer.Option("--create-stations", help="Create stations missing from the "
                                                  "metadata instead of rejecting their rows.")] = False,
) -> None:
    """Import count files: a summary line per file; raw values are never overwritten (re-import is safe)."""
    from rathaus.traffic import ImportReport, import_file, import_stations

    with open_runtime() as rt:
        user = cli_principal(rt.settings).id
        if stations is not None:
            report = import_stations(rt.db, stations, user=user)
            console.print(f"Stammdaten / stations: {len(report.stations_created)} neu/new, "
                          f"{report.unchanged} aktualisiert/updated ({report.file_name})")

        def one(path: Path) -> ImportReport:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err_console, transient=True) as progress:
                task = progress.add_task(path.name[:40], total=None)
                return import_file(rt.db, path, kind=kind, user=user, create_stations=create_stations,
                                   progress=lambda done, total: progress.update(task, completed=done, total=total))

        def show(report: ImportReport) -> None:
            new = ([f"neue Zählstellen / new stations: {', '.join(report.stations_created)}"]
                   if report.stations_created else [])
            print_import_report(report, "/api/v1/traffic/imports", new)

        import_files(files, one, show)


@traffic_app.command("export")
def export_command(
    station: Annotated[str, typer.Argument(help="Station id, e.g. Arnulf.", show_default=False)],
    format: Annotated[Literal["csv", "parquet"], typer.Option("--format", help="csv or parquet.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: stdout for csv).")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel (gesamt, richtung_1, …).")] = None,
    resolution: Annotated[Literal["day", "15min"] | None, typer.Option(help="Only this resolution.")] = None,
) -> None:
    """The station's series with a quality column (raw, flagged, imputed, missing)."""
    from rathaus.traffic import export

    if format == "parquet" and out is None:
        raise BadRequest("parquet needs --out FILE / Parquet braucht --out DATEI")
    with open_runtime() as rt:
        data = export(rt.db, station, format, channel=channel, resolution=resolution)
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    atomic_write(out, data)
    err_console.print(f"{out} ({len(data):,} bytes)", markup=False)


StationsArg = Annotated[list[str] | None, typer.Option("--station", "-s", help="Only this station (repeatable).")]


ResolutionOption = Annotated[Literal["day", "15min"], typer.Option(
    "--resolution", help="day: daily totals of the bicycle stations; 15min: quarter-hours (detectors).")]


def _bar(progress: Progress, task: TaskID) -> Callable[[int, int], None]:
    """The import's progress callback (rows done, rows in all) for one bar."""
    return lambda done, total: progress.update(task, completed=done, total=total)


def _per_station(step: str, station: list[str] | None, label: str, resolution: str) -> Any:
    """Run ``pipeline.check`` or ``pipeline.impute`` with a progress bar over the stations."""
    from rathaus.traffic import pipeline

    with open_runtime() as rt:
        if resolution == "15min":
            total = len(pipeline.interval_stations(rt.db, station)[0])
        else:
            total = len(station or pipeline.station_ids(rt.db, None))
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as progress:
            task = progress.add_task(label, total=total)
            return getattr(pipeline, step)(rt.db, station, progress=lambda _s: progress.advance(task),
                                           resolution=resolution)


@traffic_app.command("check")
def check_command(station: StationsArg = None, resolution: ResolutionOption = "day") -> None:
    """Plausibility checks (zero, flat, spike, interval, drift) on the stored counts; flags are stored."""
    flags = _per_station("check", station, "Prüfung / checks", resolution)
    if flags.empty:
        console.print("keine Auffälligkeiten / no flags")
        return
    summary = flags.groupby(["station", "check"]).size().unstack(fill_value=0)
    console.print(summary.to_string(), markup=False, highlight=False)
    unit = "Tagen / days" if resolution == "day" else "Viertelstunden / quarter-hours"
    console.print(f"{len(flags)} Flags an {flags[['station', 'ts']].drop_duplicates().shape[0]} {unit} gespeichert "
                  f"/ flags stored (rathaus traffic report, rathaus traffic plot STATION)", markup=False)


@traffic_app.command("impute")
def impute_command(station: StationsArg = None, resolution: ResolutionOption = "day") -> None:
    """Fill missing, outage and flagged values with a value and a 90 % interval (stored apart from raw counts)."""
    filled = _per_station("impute", station, "Lücken füllen / filling gaps", resolution)
    if filled.empty:
        console.print("nichts zu füllen / nothing to fill")
        return
    for name, part in filled.groupby("station"):
        half_width = ((part["upper"] - part["lower"]) / 2).median()
        unit = "Tage gefüllt / days filled" if resolution == "day" else "Viertelstunden gefüllt / quarter-hours filled"
        methods = f", {', '.join(sorted(part['method'].unique()))}" if "method" in part else ""
        console.print(f"{name}: {len(part)} {unit} (Median {part['value'].median():.0f}, "
                      f"90-%-Intervall ±{half_width:.0f}{methods})", markup=False)


@traffic_app.command("report")
def report_command(
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = None,
    resolution: ResolutionOption = "day",
) -> None:
    """Suspicious sensors per day (from the last check run)."""
    from rathaus.traffic import pipeline

    with open_runtime() as rt:
        rows = pipeline.report(rt.db, start, end, resolution)
    if rows.empty:
        console.print("keine auffälligen Sensoren / no suspicious sensors")
        return
    console.print(rows.to_string(index=False), markup=False, highlight=False)


@traffic_app.command("plot")
def plot_command(
    station: Annotated[str | None, typer.Argument(help="Station id; without it: the sensor-health overview.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")] = Path("traffic.png"),
) -> None:
    """PNG of a station's series with flagged and filled values, or of all sensors' health."""
    from rathaus.traffic import pipeline

    with open_runtime() as rt:
        png = pipeline.plot_station(rt.db, station) if station else pipeline.plot_health(rt.db)
    atomic_write(out, png)
    console.print(f"{out} ({len(png):,} bytes)", markup=False)


@traffic_app.command("eval")
def eval_command(
    csv: Annotated[Path, typer.Argument(help="A file in the city's daily format (rad_tage) or, with --resolution "
                                        "15min, its quarter-hour format (rad_15min) or a detector matrix.",
                                        show_default=False)],
    station: StationsArg = None,
    seed: Annotated[int, typer.Option(help="Seed of the hidden days.")] = 0,
    resolution: Annotated[str, typer.Option(
        "--resolution", help="day: daily totals; 15min: quarter-hours (scattered, 1–4 h, whole days, "
        "multi-day blocks).")] = "day",
    start: Annotated[str | None, typer.Option("--from", help="15min only: first local day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="15min only: last local day (YYYY-MM-DD).")] = None,
) -> None:
    """Masked-gap benchmark: MAE, RMSE, MAPE and 90 % coverage per method and gap pattern (no database)."""
    from rathaus.traffic.backtest import format_table, run_eval

    result = run_eval(csv, station, seed=seed, resolution=resolution, start=start, end=end)
    console.print(format_table(result), markup=False, highlight=False)
