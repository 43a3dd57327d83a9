"""Plausibility checks on real quarter-hour counts with injected faults, next to the city-style rules.

The city's 15-minute file of five Munich counting stations (``rad_15min_2015-2016.csv``, read at run time with the
importer's reader; default year 2016) gets, per station and fault type, 8 synthetic faults at random clean
positions (seed 0, non-overlapping), applied alike to ``gesamt`` and the two directions unless said otherwise:

* zeros – 1–8 hours of daytime quarter-hours (starting 06:00–18:00) set to 0;
* flat – 2–6 hours of daytime quarter-hours repeating the first one's value;
* spikes – a single quarter-hour with ≥ 10 bicycles multiplied by 4–10;
* drift – 7–21 days scaled by 0.55–0.75 or 1.35–1.6;
* stuck – a counter stuck for 1–3 days: the last value repeated, nights included;
* half_lane – one direction counts nothing for 1–7 days: that direction 0, ``gesamt`` = the other direction.

Clean quarter-hours (the only ones scored): a value on a day that is not an outage (daily rules of
``rathaus.traffic.daily`` on the day's sum) and at least one day away from one. Recall = injected quarter-hours
flagged on any channel; false flags = clean quarter-hours without an injected fault that were flagged (a lower
bound on precision: real unnoticed faults count against it).

Systems in the same run:
* city-style rules: every zero flagged (the zero-value rule without a per-sensor threshold, on ``gesamt`` and both
  directions) and the interval rule as a model band per station on calendar and quarter-hour alone;
* rathaus: the five checks of ``check_intervals`` on ``gesamt`` (15-minute thresholds, the correlated stations as
  features) plus the rules (zero, flat, spike) on each direction.

    .venv/bin/python bench/traffic_checks_15min.py [--data CSV] [--year 2016] [--seed 0] [--station S …]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED_DATA, machine, require, table

sys.path.insert(0, str(ROOT / "src"))
from rathaus.traffic.backtest_15min import IntervalCounts, read_interval_csv
from rathaus.traffic.checks import CheckConfig, check_series
from rathaus.traffic.intervals import check_intervals, features, neighbours_of, slot_of_day
from traffic_gaps_15min import merge_result

DEFAULT_DATA = SHARED_DATA / "munich-bike-counts-15min" / "rad_15min_2015-2016.csv"
FAULTS = ("zeros", "flat", "spikes", "drift", "stuck", "half_lane")
PER_STATION = 8
CHANNELS = ("gesamt", "richtung_1", "richtung_2")


def clean_positions(data: IntervalCounts, station: str) -> np.ndarray:
    days = data.local_days()
    outage = data.outage[station].astype(float)
    near = outage.rolling(3, center=True, min_periods=1).max().reindex(days).fillna(1).to_numpy() > 0
    return data.counts[station].notna().to_numpy() & ~near


def inject(series: dict[str, pd.Series], kind: str, rng: np.random.Generator, ok: np.ndarray
           ) -> tuple[dict[str, pd.Series], np.ndarray]:
    out = {ch: s.copy() for ch, s in series.items()}
    total = out["gesamt"]
    slots = slot_of_day(total.index)
    n = len(total)
    faulty = np.zeros(n, dtype=bool)
    busy = np.zeros(n, dtype=bool)
    placed = tries = 0
    while placed < PER_STATION and tries < 20_000:
        tries += 1
        length = {"zeros": int(rng.integers(4, 33)), "flat": int(rng.integers(8, 25)), "spikes": 1,
                  "drift": 96 * int(rng.integers(7, 22)), "stuck": int(rng.integers(96, 289)),
                  "half_lane": 96 * int(rng.integers(1, 8))}[kind]
        start = int(rng.integers(96 * 3, n - length - 96 * 3))
        if kind in ("zeros", "flat") and not 24 <= slots[start] <= 72:
            continue
        span = slice(start - 96, start + length + 96)
        idx = np.arange(start, start + length)
        if busy[span].any() or not ok[idx].all():
            continue
        v = total.to_numpy()
        if kind == "spikes" and v[start] < 10:
            continue
        if kind in ("flat", "stuck") and v[start - 1 if kind == "stuck" else start] <= 0:
            continue
        busy[span] = True
        if kind == "half_lane":
            dead = "richtung_1" if rng.random() < 0.5 else "richtung_2"
            alive = "richtung_2" if dead == "richtung_1" else "richtung_1"
            out[dead].iloc[idx] = 0.0
            out["gesamt"].iloc[idx] = out[alive].iloc[idx].to_numpy()
        else:
            factor = rng.uniform(4, 10) if kind == "spikes" else (
                (rng.uniform(0.55, 0.75) if rng.random() < 0.6 else rng.uniform(1.35, 1.6)) if kind == "drift" else 1.0)
            for s in out.values():
                if kind == "zeros":
                    s.iloc[idx] = 0.0
                elif kind == "flat":
                    s.iloc[idx] = s.iloc[start]
                elif kind == "stuck":
                    s.iloc[idx] = s.iloc[start - 1]
                else:
                    s.iloc[idx] = np.round(s.iloc[idx].to_numpy() * factor)
        if kind == "flat":
            idx = idx[1:]  # the first value of a flat line is a real one
        faulty[idx] = True
        placed += 1
    return out, faulty


def run_system(name: str, series: dict[str, pd.Series], others: pd.DataFrame) -> pd.DataFrame:
    """Flags (ts, check, channel) of one system on one station's channels."""
    found = []
    if name == "city":
        config = replace(CheckConfig.for_resolution("15min"), zero_min_expected=0.0)
        total = series["gesamt"].asfreq("15min")
        flags = check_series(total, features(total.index), resolution="15min", config=config,
                             checks=("zero", "interval"))
        found.append(flags.assign(channel="gesamt"))
        for ch in CHANNELS[1:]:
            if ch in series:
                found.append(check_series(series[ch].asfreq("15min"), None, resolution="15min", config=config,
                                          checks=("zero",)).assign(channel=ch))
    else:
        found.append(check_intervals(series["gesamt"], others).assign(channel="gesamt"))
        for ch in CHANNELS[1:]:
            if ch in series:
                found.append(check_series(series[ch].asfreq("15min"), None, resolution="15min",
                                          checks=("zero", "flat", "spike")).assign(channel=ch))
    found = [f for f in found if len(f)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=["ts", "check", "channel"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--year", type=int, default=2016)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--station", action="append")
    ap.add_argument("--fault", action="append", choices=FAULTS)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    require(args.data, "Munich 15-minute bicycle counts (rad_15min_2015-2016.csv)")
    data = read_interval_csv(args.data, f"{args.year}-01-01", f"{args.year}-12-31")
    stations = args.station or data.stations
    faults = args.fault or list(FAULTS)
    print(f"{args.data.name} {args.year}: {len(data.stations)} stations × {len(data.counts):,} quarter-hours; "
          f"outage days {data.info['outage_days']}", file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    systems = ("city", "rathaus")
    totals = {(s, k): [0, 0, 0, 0] for s in systems for k in faults}  # found, false, faulty, clean
    hits: dict[tuple[str, str], int] = {}  # (fault, check) → injected quarter-hours it flagged (rathaus)
    false_by_check: dict[tuple[str, str], int] = {}
    started = time.perf_counter()
    usable = data.usable()
    for station in stations:
        ok = clean_positions(data, station)
        raw = {"gesamt": data.counts[station], **{ch: frame[station] for ch, frame in data.directions.items()}}
        raw = {ch: s.fillna(np.nan) for ch, s in raw.items()}
        others = neighbours_of(usable, station)
        for kind in faults:
            faulted, faulty = inject(raw, kind, rng, ok)
            index = faulted["gesamt"].index
            for system in systems:
                flags = run_system(system, faulted, others)
                ts = pd.DatetimeIndex(pd.to_datetime(flags["ts"], utc=True)) if len(flags) else pd.DatetimeIndex([])
                flagged = index.isin(ts)
                t = totals[(system, kind)]
                t[0] += int((flagged & faulty & ok).sum())
                t[1] += int((flagged & ~faulty & ok).sum())
                t[2] += int((faulty & ok).sum())
                t[3] += int((~faulty & ok).sum())
                if len(flags):
                    at = index.get_indexer(ts)
                    flags = flags.assign(pos=at)
                    for check, part in flags.groupby("check"):
                        pos = np.unique(part["pos"].to_numpy())
                        pos = pos[pos >= 0]
                        false_by_check[(system, str(check))] = false_by_check.get((system, str(check)), 0) + int(
                            (~faulty[pos] & ok[pos]).sum())
                        if system == "rathaus":
                            found = int((faulty[pos] & ok[pos]).sum())
                            hits[(kind, str(check))] = hits.get((kind, str(check)), 0) + found
        print(f"  {station}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    seconds = time.perf_counter() - started
    result: dict[str, object] = {}
    rows = []
    for kind in faults:
        for system in systems:
            found, false, n, clean = totals[(system, kind)]
            recall = found / n if n else 0.0
            precision = found / (found + false) if found + false else 0.0
            rate = false / clean if clean else 0.0
            result.update({f"{kind}_{system}_recall": round(recall, 4),
                           f"{kind}_{system}_precision": round(precision, 4),
                           f"{kind}_{system}_false_flags": false, f"{kind}_{system}_false_rate": round(rate, 5)})
            rows.append((kind, system, n, found, f"{recall:.3f}", false, f"{100 * rate:.2f} %", f"{precision:.3f}"))
    print(table(rows, ("fault", "system", "faulty quarter-hours", "found", "recall", "false flags", "of clean",
                       "precision")))
    check_rows = []
    for (kind, check), n in sorted(hits.items()):
        total_faulty = totals[("rathaus", kind)][2]
        result[f"{kind}_rathaus_recall_{check}"] = round(n / total_faulty, 4) if total_faulty else 0.0
        check_rows.append((kind, check, n, f"{n / total_faulty:.3f}" if total_faulty else "–"))
    print("\nrathaus: injected quarter-hours found per check")
    print(table(check_rows, ("fault", "check", "found", "recall")))
    print("\nfalse flags per check (clean quarter-hours, summed over the fault runs): " + ", ".join(
        f"{s}/{c}: {n}" for (s, c), n in sorted(false_by_check.items())))
    result.update({f"false_flags_{s}_{c}": n for (s, c), n in false_by_check.items()})
    result.update({"year": args.year, "stations": ",".join(stations), "faults_per_station": PER_STATION,
                   "seed": args.seed, "seconds": round(seconds, 1), "data": args.data.name, **machine()})
    print(f"{len(stations)} stations × {len(faults)} faults, {seconds:.0f} s")
    if not args.no_save:
        print(f"written {merge_result('traffic_checks_15min', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
