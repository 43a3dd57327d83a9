"""Shared helpers for benchmarks: data paths, result files, tables."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHARED_DATA = Path(os.environ.get("RATHAUS_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARED_SEEDS = SHARED_DATA.parent / "seeds"


def require(path: Path, what: str) -> Path:
    """Exit with one clear line when a data set is not on this machine (it is never in the repository)."""
    if not path.exists():
        print(f"bench: {what} not found at {path}; pass its path on the command line "
              f"(the data sets are not redistributed with rathaus)", file=sys.stderr)
        raise SystemExit(2)
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()}


def write_result(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    flat = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in figures.items()}
    path.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n")
    return path


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *[line(r) for r in rows]])
