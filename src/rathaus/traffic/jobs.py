"""Traffic's background jobs: plausibility checks and gap filling of the stored counts (as `rathaus traffic check`
and `rathaus traffic impute` do in the foreground)."""

from __future__ import annotations

from typing import Any, Literal

from rathaus.core.jobs import progress
from rathaus.traffic import pipeline

Resolution = Literal["day", "15min"]


def _stations(runtime: Any, stations: list[str] | None, resolution: str) -> int:
    if resolution == "15min":
        return len(pipeline.interval_stations(runtime.db, stations)[0])
    return len(stations or pipeline.station_ids(runtime.db, None))


def _counter(total: int, label: str) -> Any:
    done = 0

    def step(station: str) -> None:
        nonlocal done
        done += 1
        progress(done, total, f"{label} {station}")

    return step


def check(runtime: Any, stations: list[str] | None = None, resolution: Resolution = "day") -> dict[str, Any]:
    """Run the checks on every (or the given) station and store the flags."""
    total = _stations(runtime, stations, resolution)
    flags = pipeline.check(runtime.db, stations, progress=_counter(total, "checking"), resolution=resolution)
    per_check = flags.groupby("check").size().to_dict() if len(flags) else {}
    return {"flags": len(flags), "stations": total, "resolution": resolution,
            "per_check": {str(k): int(v) for k, v in per_check.items()}}


def impute(runtime: Any, stations: list[str] | None = None, resolution: Resolution = "day") -> dict[str, Any]:
    """Fill missing, outage and flagged values (with a 90 % interval) of every (or the given) station."""
    total = _stations(runtime, stations, resolution)
    filled = pipeline.impute(runtime.db, stations, progress=_counter(total, "filling"), resolution=resolution)
    per_station = filled.groupby("station").size().to_dict() if len(filled) else {}
    return {"filled": len(filled), "stations": total, "resolution": resolution,
            "per_station": {str(k): int(v) for k, v in per_station.items()}}

