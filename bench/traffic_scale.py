"""Checks and gap filling for a year of 15-minute counts of 100 detectors (~3.5 M values) on 2 cores.

The detector matrix is the one of ``bench/traffic_import.py`` (the real Munich daily bicycle totals of 2019,
five stations, spread over the quarter-hours in local time and scaled per detector) with Poisson noise on
every quarter-hour, so that no two detectors are exact multiples of each other. Real outages come along: a day
the real station counted 0 is a day of zeros at its detectors. Per detector, about 2 % of the known values
are hidden in blocks (≤ 1 h, ≤ 1 day, > 1 day) with the truth kept aside.

Per detector, in two worker processes (one per core):

* ``rathaus.traffic.intervals.check_intervals`` – the five checks with quarter-hour, calendar and the five most
  correlated detectors as features;
* ``rathaus.traffic.intervals.fill_intervals`` – the hidden and the flagged values filled, the method per gap
  length chosen by its own backtest, with 90 % intervals.

Reported: wall time for all detectors, seconds per detector, and on the hidden values the MAE of the chosen
method next to the baselines measured on the same gaps (linear interpolation, weekday × quarter-hour profile,
the Zürich ratio method) and the coverage of the 90 % intervals.

    .venv/bin/python bench/traffic_scale.py [--data DIR] [--detectors 100] [--year 2019] [--workers 2]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker process

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, machine, require, table, write_result
from rathaus.traffic.intervals import (
    bucket_of,
    check_intervals,
    fill_intervals,
    gap_lengths,
    hide_blocks,
    predict_linear,
    predict_profile,
    predict_ratio,
)
from traffic_import import detector_matrix

BASELINES = {"linear": predict_linear, "profile": predict_profile, "ratio (Zürich)": predict_ratio}
MATRIX: pd.DataFrame | None = None


def build_matrix(daily: Path, detectors: int, year: int) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(detector_matrix(daily, detectors, year)))
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("datetime"))).tz_localize("Europe/Berlin", ambiguous="infer")
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.poisson(frame.to_numpy()), index=index, columns=frame.columns).astype(float)


def neighbours(matrix: pd.DataFrame, column: str, k: int = 5) -> pd.DataFrame:
    logs = np.log1p(matrix)
    corr = logs.drop(columns=[column]).corrwith(logs[column]).dropna().sort_values(ascending=False)
    return matrix[list(corr.index[:k])]


def init(matrix: pd.DataFrame) -> None:
    global MATRIX
    MATRIX = matrix


def process(args: tuple[str, int]) -> dict:
    column, seed = args
    assert MATRIX is not None
    truth = MATRIX[column]
    hidden = hide_blocks(truth.notna().to_numpy() & (truth.to_numpy() > 0), seed=seed)
    values = truth.mask(hidden)
    others = neighbours(MATRIX, column)
    started = time.perf_counter()
    flags = check_intervals(values, others)
    checked = time.perf_counter()
    filled, test = fill_intervals(values, others, missing=pd.DatetimeIndex(flags["ts"].unique()))
    done = time.perf_counter()
    at = values.index[hidden]
    true = truth[at].to_numpy()
    buckets = bucket_of(gap_lengths(hidden))[hidden]
    known = ~hidden & truth.notna().to_numpy()
    rows = {"chosen": np.abs(filled.loc[at, "value"].to_numpy() - true)}
    for name, predict in BASELINES.items():
        rows[name] = np.abs(predict(values, known)[hidden] - true)
    inside = (true >= filled.loc[at, "lower"].to_numpy()) & (true <= filled.loc[at, "upper"].to_numpy())
    return {"detector": column, "check_s": checked - started, "fill_s": done - checked, "flags": len(flags),
            "flag_kinds": flags["check"].value_counts().to_dict(), "filled": len(filled), "errors": rows,
            "inside": inside, "buckets": buckets, "chosen": test.chosen}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "munich-bike-counts")
    ap.add_argument("--detectors", type=int, default=100)
    ap.add_argument("--year", type=int, default=2019)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    daily = require(args.data / "rad_tage_2017-2022.csv", "the Munich bicycle counts (rad_tage_2017-2022.csv)")
    matrix = build_matrix(daily, args.detectors, args.year)
    values = int(matrix.notna().sum().sum())
    print(f"{matrix.shape[1]} detectors × {matrix.shape[0]:,} quarter-hours = {values:,} values", file=sys.stderr)
    started = time.perf_counter()
    results = []
    with ProcessPoolExecutor(args.workers, initializer=init, initargs=(matrix,)) as pool:
        for i, result in enumerate(pool.map(process, [(c, 1000 + i) for i, c in enumerate(matrix.columns)])):
            results.append(result)
            if (i + 1) % 10 == 0:
                print(f"  {i + 1} detectors ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    wall = time.perf_counter() - started

    per_detector = np.array([r["check_s"] + r["fill_s"] for r in results])
    buckets = np.concatenate([r["buckets"] for r in results])
    errors = {m: np.concatenate([r["errors"][m] for r in results]) for m in results[0]["errors"]}
    inside = np.concatenate([r["inside"] for r in results])
    kinds: dict[str, int] = {}
    for r in results:
        for k, n in r["flag_kinds"].items():
            kinds[k] = kinds.get(k, 0) + n
    chosen: dict[str, int] = {}
    for r in results:
        for bucket, method in r["chosen"].items():
            chosen[f"{bucket}: {method}"] = chosen.get(f"{bucket}: {method}", 0) + 1

    out: dict[str, float | int | str] = {
        "detectors": matrix.shape[1], "values": values, "workers": args.workers, "wall_s": round(wall, 1),
        "values_per_s": round(values / wall), "detector_p50_s": round(float(np.median(per_detector)), 2),
        "detector_p95_s": round(float(np.percentile(per_detector, 95)), 2),
        "check_s_total": round(sum(r["check_s"] for r in results), 1),
        "fill_s_total": round(sum(r["fill_s"] for r in results), 1),
        "flags": sum(r["flags"] for r in results), "filled": sum(r["filled"] for r in results),
        "hidden": len(buckets), "coverage90": round(float(inside.mean()), 3),
    }
    rows = []
    for bucket in ("≤ 1 h", "≤ 1 day", "> 1 day", "all"):
        sel = np.ones(len(buckets), dtype=bool) if bucket == "all" else buckets == bucket
        key = {"≤ 1 h": "hour", "≤ 1 day": "day", "> 1 day": "days", "all": "all"}[bucket]
        row = [bucket, int(sel.sum())]
        for method, err in errors.items():
            mae = float(err[sel].mean())
            out[f"{key}_{method.split()[0]}_mae"] = round(mae, 3)
            row.append(f"{mae:.2f}")
        for method in BASELINES:
            ratio = float(errors["chosen"][sel].mean() / errors[method][sel].mean())
            out[f"{key}_chosen_vs_{method.split()[0]}"] = round(ratio, 3)
        row.append(f"{inside[sel].mean():.1%}")
        rows.append(row)
    print(table(rows, ("gap", "hidden values", *[f"MAE {m}" for m in errors], "coverage 90 %")))
    print(f"\n{values:,} values, {matrix.shape[1]} detectors, {args.workers} workers: {wall:.0f} s wall "
          f"({values / wall:,.0f} values/s); per detector p50 {out['detector_p50_s']} s, p95 {out['detector_p95_s']} s "
          f"(checks {out['check_s_total']} s, filling {out['fill_s_total']} s summed over workers)")
    print(f"flags: {kinds}; chosen methods (detectors): {chosen}")
    out.update({f"flags_{k}": v for k, v in kinds.items()})
    out["machine"] = machine()
    write_result("traffic_scale", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
