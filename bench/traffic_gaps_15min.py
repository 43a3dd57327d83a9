"""Gap filling for real quarter-hour counts: masked-gap benchmark on Munich's 15-minute bicycle file.

The city's 15-minute file of five counting stations (``rad_15min_2015-2016.csv`` in
../shared/data/munich-bike-counts-15min, read at run time with the importer's reader, never copied) goes
through ``rathaus.traffic.backtest_15min``: per station and pattern, known-good quarter-hours are hidden with a
fixed seed – scattered single quarter-hours, 1–4 h gaps, whole days, 2–7-day blocks – every method is fitted on
the rest and scored on the hidden values:

* baselines: ``linear`` interpolation, ``profile`` (median of the weekday × quarter-hour), ``ratio`` (the Zürich
  ratio method: the hour before the gap × typical(quarter-hour) / typical(that hour));
* rathaus: ``gbm`` (quarter-hour, weekday, holidays, season, the correlated stations at the same time),
  ``blend`` (ratio × gbm) and ``rathaus`` (per gap length the method chosen by the station's own backtest;
  ``rathaus_per_bucket`` is the earlier choice rule, for comparison).

Split: ``--split tune`` evaluates on 2015 only (development, thresholds), ``--split report`` (default) on 2016
only – a year nothing was tuned on. Each split reads only its own year from the file.

    .venv/bin/python bench/traffic_gaps_15min.py [--data CSV] [--split report|tune] [--seed 0] [--station S …]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, SHARED_DATA, machine, require, table

sys.path.insert(0, str(ROOT / "src"))
from rathaus.traffic.backtest import EvalResult
from rathaus.traffic.backtest_15min import PATTERNS, evaluate_15min, read_interval_csv
from rathaus.traffic.intervals import CHOSEN, FILL_METHODS, PER_BUCKET

DEFAULT_DATA = SHARED_DATA / "munich-bike-counts-15min" / "rad_15min_2015-2016.csv"
SPLITS = {"tune": ("2015-01-01", "2015-12-31"), "report": ("2016-01-01", "2016-12-31")}
ORDER = ("linear", "profile", "ratio", "gbm", "blend", PER_BUCKET, CHOSEN)
KIND = {"linear": "baseline", "profile": "baseline", "ratio": "baseline (Zürich)", "gbm": "rathaus",
        "blend": "rathaus", PER_BUCKET: "rathaus, earlier choice", CHOSEN: "rathaus (chosen)"}
GOAL = 0.7


def pooled(result: EvalResult, method: str) -> dict[str, float]:
    """All patterns together, every scored quarter-hour weighing the same."""
    rows = [r for r in result.rows if r["station"] == "all" and r["method"] == method]
    n = sum(r["n"] for r in rows)
    return {"n": n, "mae": sum(r["n"] * r["mae"] for r in rows) / n,
            "rmse": (sum(r["n"] * r["rmse"] ** 2 for r in rows) / n) ** 0.5,
            "coverage90": sum(r["n"] * r["coverage90"] for r in rows) / n}


def figures_of(result: EvalResult, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in ORDER:
        p = pooled(result, method)
        out[f"{method}_mae"], out[f"{method}_rmse"], out[f"{method}_coverage90"] = p["mae"], p["rmse"], p["coverage90"]
    out["rathaus_vs_ratio"] = out["rathaus_mae"] / out["ratio_mae"]
    out[f"{PER_BUCKET}_vs_ratio"] = out[f"{PER_BUCKET}_mae"] / out["ratio_mae"]
    out["scored"] = pooled(result, CHOSEN)["n"]
    for row in result.rows:
        where = row["pattern"] if row["station"] == "all" else f"{row['pattern']}_{row['station'].lower()}"
        out[f"{where}_{row['method']}_mae"] = row["mae"]
        out[f"{where}_{row['method']}_coverage90"] = row["coverage90"]
        if row["station"] == "all":
            out[f"{where}_{row['method']}_rmse"] = row["rmse"]
            out[f"{where}_{row['method']}_n"] = row["n"]
    for pattern in PATTERNS:
        out[f"{pattern}_rathaus_vs_ratio"] = result.get(pattern, CHOSEN)["mae"] / result.get(pattern, "ratio")["mae"]
        for station, picks in result.chosen.get(pattern, {}).items():
            out[f"{pattern}_{station.lower()}_chosen"] = ",".join(f"{b}:{m}" for b, m in picks.items())
    return {f"{prefix}{k}": v for k, v in out.items()}


def merge_result(name: str, figures: dict[str, Any]) -> Path:
    """Merge keys into bench/results/NAME.json (other keys are kept)."""
    path = RESULTS / f"{name}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in figures.items()})
    path.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV in the city's 15-minute format")
    ap.add_argument("--split", choices=sorted(SPLITS), default="report")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--station", action="append", help="only these stations (repeatable)")
    ap.add_argument("--pattern", action="append", choices=PATTERNS, help="only these patterns (repeatable)")
    ap.add_argument("--no-save", action="store_true", help="print only, do not write bench/results")
    args = ap.parse_args()
    require(args.data, "Munich 15-minute bicycle counts (rad_15min_2015-2016.csv)")

    started = time.perf_counter()
    start, end = SPLITS[args.split]
    data = read_interval_csv(args.data, start, end)
    print(f"data: {args.data.name}, split {args.split} ({start} – {end}): {len(data.stations)} stations, "
          f"{data.info['values']:,} quarter-hour values, {data.info['rejected']} rejected by the importer's reader "
          f"({data.info['problems']} problems); outage days per station: {data.info['outage_days']}")
    patterns = args.pattern or list(PATTERNS)
    result = evaluate_15min(data, stations=args.station, seed=args.seed, methods=(*FILL_METHODS, PER_BUCKET, CHOSEN),
                            patterns=patterns)
    seconds = time.perf_counter() - started
    for pattern in patterns:
        base = result.get(pattern, "ratio")
        got = {m: result.get(pattern, m) for m in ORDER}
        rows = [(m, KIND[m], f"{r['mae']:.2f}", f"{r['mae'] / base['mae']:.2f}", f"{r['rmse']:.2f}",
                 f"{100 * r['coverage90']:.1f}") for m, r in got.items()]
        print(f"\npattern {pattern}: {base['n']:,} hidden good quarter-hours (seed {args.seed})")
        print(table(rows, ("method", "kind", "MAE", "× ratio", "RMSE", "coverage90 %")))
        print("chosen (gap length → method): " + "; ".join(
            f"{s}: " + ", ".join(f"{b}→{m}" for b, m in picks.items()) for s, picks in result.chosen[pattern].items()))
    if set(patterns) == set(PATTERNS):
        figures = figures_of(result)
        rows = [(m, KIND[m], f"{figures[f'{m}_mae']:.2f}", f"{figures[f'{m}_mae'] / figures['ratio_mae']:.2f}",
                 f"{figures[f'{m}_rmse']:.2f}", f"{100 * figures[f'{m}_coverage90']:.1f}") for m in ORDER]
        print(f"\nall patterns pooled ({figures['scored']:,} quarter-hours)")
        print(table(rows, ("method", "kind", "MAE", "× ratio", "RMSE", "coverage90 %")))
        verdict = "met" if figures["rathaus_vs_ratio"] <= GOAL and 0.85 <= figures["rathaus_coverage90"] <= 0.95 \
            else "missed"
        print(f"goal (rathaus ≤ {GOAL} × ratio MAE, coverage 85–95 %): {verdict} — "
              f"{figures['rathaus_vs_ratio']:.2f} × ratio, coverage {100 * figures['rathaus_coverage90']:.1f} %")
        print(f"{seconds:.0f} s in all")
        if not args.no_save:
            prefix = "" if (args.split, args.seed) == ("report", 0) else f"{args.split}_seed{args.seed}_"
            figures.update({"split": args.split, "period": f"{start}..{end}", "seed": args.seed,
                            "stations": ",".join(result.info["stations"]), "seconds": round(seconds, 1),
                            "data": args.data.name, **machine()})
            if prefix:
                figures = {f"{prefix}{k}": v for k, v in figures.items()}
            print(f"written {merge_result('traffic_gaps_15min', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
