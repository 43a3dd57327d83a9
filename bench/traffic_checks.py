"""Plausibility checks on real Munich bicycle counts with injected faults, next to the city's rules.

For each station and each fault type a copy of the real daily series (2017–2022) gets 8 synthetic faults
at random positions (seed 0, non-overlapping, only on days with a count > 0):

* zeros – single days and runs of 2–5 days set to 0,
* flat lines – runs of 3–7 days repeating the first day's count,
* spikes – single days multiplied by 3–8,
* drift – 21–60 days scaled by 0.55–0.75 (a loop that counts too little) or 1.35–1.6.

Faults go into clean periods only, and only those are scored: days with a count > 0, at least 7 days away
from a zero day (real outages), outside the periods the city's station notes mark as distorted (Arnulf from
2021: construction site; Kreuther February–June 2020: the loop was widened on 1 April 2020). Detection is
scored per day: recall = injected days flagged, precision = flagged days that were injected, where every
flag on a clean day without an injected fault counts as false (also when the real data had an unnoticed
fault there, so precision is a lower bound).

Baseline in the same run, "as the city does": the zero-value rule without a per-sensor threshold (every
zero) and the interval rule as a quantile gradient-boosting model per station on calendar + weather of the
station alone. rathaus: all five checks of ``rathaus.traffic.checks`` with neighbouring stations as
features.

    .venv/bin/python bench/traffic_checks.py [--data ../shared/data/munich-bike-counts/rad_tage_2017-2022.csv]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, machine, require, table, write_result
from rathaus.traffic.calendar import calendar_features
from rathaus.traffic.checks import CheckConfig, check_series
from rathaus.traffic.daily import daily_counts_from_frame, read_city_frame
from rathaus.traffic.pipeline import raw_counts

FAULTS = ("zeros", "flat", "spikes", "drift")
PER_STATION = 8


def load(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raw day × station counts (zeros kept) and the day's weather, read with the importer's reader."""
    frame = read_city_frame(path)
    return raw_counts(frame), daily_counts_from_frame(frame, level_shifts={}).weather


DISTORTED = {"Arnulf": [("2021-01-01", "2022-12-31")], "Kreuther": [("2020-02-01", "2020-06-30")]}


def clean_days(values: pd.Series, station: str) -> np.ndarray:
    """Days of real, undisturbed counting (see the module docstring)."""
    zero = (values == 0).astype(float)
    near_zero = zero.rolling(15, center=True, min_periods=1).max().to_numpy() > 0
    ok = (values > 0).to_numpy() & ~near_zero
    for start, end in DISTORTED.get(station, []):
        ok &= ~((values.index >= start) & (values.index <= end))
    return ok


def inject(values: pd.Series, kind: str, rng: np.random.Generator, ok: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    v = values.copy()
    faulty = np.zeros(len(v), dtype=bool)
    busy = np.zeros(len(v), dtype=bool)
    placed, tries = 0, 0
    while placed < PER_STATION and tries < 10_000:
        tries += 1
        length = {"zeros": int(rng.choice([1, 1, 2, 3, 5])), "flat": int(rng.integers(3, 8)), "spikes": 1,
                  "drift": int(rng.integers(21, 61))}[kind]
        start = int(rng.integers(30, len(v) - length - 30))
        span = slice(start - 7, start + length + 7)
        if busy[span].any() or not ok[start:start + length].all():
            continue
        busy[span] = True
        idx = np.arange(start, start + length)
        if kind == "zeros":
            v.iloc[idx] = 0.0
        elif kind == "flat":
            v.iloc[idx] = v.iloc[start]
            idx = idx[1:]  # the first day of a flat line is a real value
        elif kind == "spikes":
            v.iloc[idx] = np.round(v.iloc[idx] * rng.uniform(3, 8))
        else:
            factor = rng.uniform(0.55, 0.75) if rng.random() < 0.6 else rng.uniform(1.35, 1.6)
            v.iloc[idx] = np.round(v.iloc[idx] * factor)
        faulty[idx] = True
        placed += 1
    return v, faulty


def score(flags: pd.DataFrame, index: pd.DatetimeIndex, faulty: np.ndarray, scored: np.ndarray) -> tuple[int, int, int]:
    flagged = index.isin(flags["ts"].unique()) if len(flags) else np.zeros(len(index), dtype=bool)
    tp = int((flagged & faulty & scored).sum())
    fp = int((flagged & ~faulty & scored).sum())
    return tp, fp, int((faulty & scored).sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "munich-bike-counts" / "rad_tage_2017-2022.csv")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    require(args.data, "the Munich bicycle counts (rad_tage_2017-2022.csv)")
    counts, weather = load(args.data)
    cal = calendar_features(counts.index)
    systems = {
        "city rules (zero + interval, station alone)": dict(neighbours=False, checks=("zero", "interval"),
                                                             config=CheckConfig(zero_min_expected=0.0)),
        "rathaus (5 checks, neighbours)": dict(neighbours=True, checks=None, config=CheckConfig()),
    }
    totals = {(s, k): [0, 0, 0] for s in systems for k in FAULTS}
    totals_clean = {(s, k): 0 for s in systems for k in FAULTS}
    per_check: dict[tuple[str, str], int] = {}
    false_by_check: dict[tuple[str, str], int] = {}  # (system, check) → clean days it flagged, over all runs
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    for station in counts.columns:
        original = counts[station]
        scored = clean_days(original, station)
        others = np.log1p(counts.drop(columns=[station]))
        others.columns = [f"n_{c}" for c in others.columns]
        for kind in FAULTS:
            faulted, faulty = inject(original, kind, rng, scored)
            for name, spec in systems.items():
                feats = pd.concat([cal, weather] + ([others] if spec["neighbours"] else []), axis=1)
                kwargs = {"checks": spec["checks"]} if spec["checks"] else {}
                flags = check_series(faulted, feats, config=spec["config"], **kwargs)
                tp, fp, n = score(flags, counts.index, faulty, scored)
                t = totals[(name, kind)]
                t[0] += tp
                t[1] += fp
                t[2] += n
                totals_clean[(name, kind)] += int((scored & ~faulty).sum())
                if len(flags):
                    clean_days_ = counts.index[scored & ~faulty]
                    false = flags[flags["ts"].isin(clean_days_)]
                    for check, days in false.groupby("check")["ts"].nunique().items():
                        key = ("city" if name.startswith("city") else "rathaus", str(check))
                        false_by_check[key] = false_by_check.get(key, 0) + int(days)
                if spec["neighbours"] and len(flags):
                    hit = flags[flags["ts"].isin(counts.index[faulty])]
                    for check in hit["check"].unique():
                        per_check[(kind, check)] = per_check.get((kind, check), 0) + 1
        print(f"  {station}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    seconds = time.perf_counter() - started
    rows, result = [], {}
    for kind in FAULTS:
        for name in systems:
            tp, fp, n = totals[(name, kind)]
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / n if n else 0.0
            key = "city" if name.startswith("city") else "rathaus"
            result[f"{kind}_{key}_precision"] = round(p, 4)
            result[f"{kind}_{key}_recall"] = round(r, 4)
            clean = totals_clean[(name, kind)]
            result[f"{kind}_{key}_false_alarm_rate"] = round(fp / clean, 4) if clean else 0.0
            rows.append([kind, name, n, tp, fp, f"{100 * fp / clean:.1f} %" if clean else "–", f"{p:.3f}", f"{r:.3f}"])
    print(table(rows, ("fault", "system", "faulty days", "found", "false flags", "of clean days", "precision",
                       "recall")))
    for kind in FAULTS:
        r_city, r_ours = result[f"{kind}_city_recall"], result[f"{kind}_rathaus_recall"]
        print(f"{kind}: recall rathaus / city {r_ours / r_city:.2f}" if r_city else f"{kind}: city recall 0")
    print("checks that fired on injected days (stations × faults):",
          ", ".join(f"{k}/{c}: {n}" for (k, c), n in sorted(per_check.items())))
    print("false flags by check (clean days flagged, summed over the fault runs):",
          ", ".join(f"{system}/{check}: {n}" for (system, check), n in sorted(false_by_check.items())))
    result.update({f"false_flags_{system}_{check}": n for (system, check), n in false_by_check.items()})
    print(f"{len(counts.columns)} stations × {len(FAULTS)} fault types, {seconds:.0f} s")
    result.update({"stations": len(counts.columns), "faults_per_station": PER_STATION, "seed": args.seed,
                   "seconds": round(seconds, 1), **machine()})
    write_result("traffic_checks", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
