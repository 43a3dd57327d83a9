"""Gap filling for Munich's daily bicycle counts: masked-gap benchmark of baselines and the rathaus methods.

Known-good days (positive count, no outage, complete weather) of each station are hidden with a fixed seed in two
patterns, one station at a time — scattered single days (10 %) and blocks of 7–28 consecutive days (≈ 10 %) —
every method is fitted on the rest and scored on the hidden days (``rathaus.traffic.backtest``):

* baselines: ``linear`` interpolation, ``seasonal`` month × weekday median, ``gbm_plain`` (gradient boosting on
  calendar + weather of the station alone, roughly what the city uses);
* rathaus: ``ratio`` (Zürich ratio method, daily), ``gbm`` (calendar, Bavarian public/school holidays, weather,
  correlated neighbours, level shifts) and ``rathaus`` (per station and gap length the method with the lowest
  MAE in an inner backtest on the station's own remaining days — never on the evaluation masks).

Figures per pattern: MAE, its ratio to gbm_plain's, RMSE, MAPE (days ≥ 100 bikes), coverage of the 90 %
intervals, seconds (fit + inner calibration backtest). Data: the city's open data (``rad_tage_2017-2022.csv``
in ../shared/data/munich-bike-counts, read at run time, never copied).

    .venv/bin/python bench/traffic_gaps.py [--data CSV] [--station S …] [--seed 0]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED_DATA, machine, require, table

sys.path.insert(0, str(ROOT / "src"))
from rathaus.traffic.backtest import ALL_METHODS, BASELINE, PATTERNS, EvalResult, evaluate
from rathaus.traffic.calendar import school_holiday_days_per_year
from rathaus.traffic.daily import read_daily_csv
from rathaus.traffic.impute import PER_BUCKET
from traffic_gaps_15min import merge_result

DEFAULT_DATA = SHARED_DATA / "munich-bike-counts" / "rad_tage_2017-2022.csv"
ORDER = ("linear", "seasonal", "gbm_plain", "ratio", "gbm", "blend", PER_BUCKET, "rathaus")
KIND = {"linear": "baseline", "seasonal": "baseline", "gbm_plain": "baseline", "ratio": "rathaus",
        "gbm": "rathaus", "blend": "rathaus", PER_BUCKET: "rathaus, earlier choice (lowest inner MAE per bucket)",
        "rathaus": "rathaus (chosen)"}


def key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def figures_of(result: EvalResult, seconds: float, data_path: Path) -> dict[str, object]:
    figures: dict[str, object] = {"seconds": seconds, "seed": result.info["seed"], "data": data_path.name,
                                  "stations": ",".join(result.info["stations"]), **machine()}
    for row in result.rows:
        prefix = f"{row['pattern']}_{row['method']}" if row["station"] == "all" else \
            f"{row['pattern']}_{key(row['station'])}_{row['method']}"
        base = result.get(row["pattern"], BASELINE, row["station"])
        figures[f"{prefix}_mae"] = row["mae"]
        figures[f"{prefix}_vs_{BASELINE}"] = row["mae"] / base["mae"]
        if row["station"] == "all":
            figures.update({f"{prefix}_rmse": row["rmse"], f"{prefix}_mape": row["mape"],
                            f"{prefix}_coverage90": row["coverage90"], f"{prefix}_seconds": row["seconds"],
                            f"{prefix}_days": row["n"]})
        else:
            figures[f"{prefix}_coverage90"] = row["coverage90"]
    for pattern, stations in result.chosen.items():
        for station, picks in stations.items():
            figures[f"{pattern}_{key(station)}_chosen"] = ",".join(f"{b}:{m}" for b, m in picks.items())
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV in the city's daily format")
    ap.add_argument("--station", action="append", help="only these stations (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-save", action="store_true", help="print only, do not write bench/results")
    args = ap.parse_args()
    require(args.data, "Munich bicycle counts (rad_tage_2017-2022.csv)")

    started = time.perf_counter()
    data = read_daily_csv(args.data)
    years = sorted({d.year for d in data.counts.index})
    print(f"data: {args.data} — {len(data.stations)} stations, {years[0]}–{years[-1]}; "
          f"school-holiday days per year (holidays package): {school_holiday_days_per_year(years)}")
    flags = data.flags.apply(lambda s: s.value_counts()).fillna(0).astype(int).drop(index="", errors="ignore")
    print("unknown days per station and reason:\n" + flags.to_string() + "\n")
    result = evaluate(data, stations=args.station, seed=args.seed, methods=(*ALL_METHODS, PER_BUCKET))
    seconds = time.perf_counter() - started

    for pattern in PATTERNS:
        base = result.get(pattern, BASELINE)
        rows = []
        for method in ORDER:
            r = result.get(pattern, method)
            rows.append((method, KIND[method], f"{r['mae']:.1f}", f"{r['mae'] / base['mae']:.2f}",
                         f"{r['rmse']:.1f}", f"{r['mape']:.1f}", f"{100 * r['coverage90']:.1f}",
                         f"{r['seconds']:.1f}"))
        print(f"gap pattern: {pattern} ({base['n']} hidden good days, seed {args.seed})")
        print(table(rows, ("method", "kind", "MAE", f"×{BASELINE}", "RMSE", "MAPE %", "coverage90 %", "s")))
        per_station = [(s, *[f"{result.get(pattern, m, s)['mae']:.0f}" for m in ORDER],
                        f"{100 * result.get(pattern, 'rathaus', s)['coverage90']:.0f}")
                       for s in result.info["stations"]]
        print(table(per_station, ("MAE per station", *ORDER, "rathaus cov. %")))
        print("rathaus chose (days to the nearest known day → method): " + "; ".join(
            f"{s}: " + ", ".join(f"{b}→{m}" for b, m in picks.items())
            for s, picks in result.chosen[pattern].items()) + "\n")
    print(f"{seconds:.0f} s in all")
    if not args.no_save:
        figures = figures_of(result, seconds, args.data)
        if args.seed != 0:  # other seeds go next to the reported seed 0, under their own keys
            figures = {f"seed{args.seed}_{k}": v for k, v in figures.items()}
        print(f"written {merge_result('traffic_gaps', figures)}")


if __name__ == "__main__":
    main()
