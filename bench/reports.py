"""Oversight reports over 1,000,000 generated metering rows (issue 18): the four reports of one month, aggregated
by PostgreSQL (GROUP BY), against a naive baseline that fetches the same rows and aggregates them row by row in
Python – measured in the same run, on the same embedded PostgreSQL.

    .venv/bin/python bench/reports.py [--rows 1000000] [--runs 3]

The rows are synthetic (no real usage data of 1,000,000 calls exists): generated inside PostgreSQL with
generate_series and a fixed seed, all in the reported month (the worst case for one report), 40 departments,
6,000 people, 12 use cases, the shipped catalogue's models. Nothing is tuned on them, so there is no split.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from common import bench_settings, machine, median, write_result

MONTH = "2026-11"
USE_CASES = ["chat", "assistant:buergerservice", "assistant:auslaenderbehoerde", "assistant:wirtschaft",
             "inbox:routing", "checks:dialogue", "checks.letter", "writing:translate", "writing:draft", "kb-ingest",
             "library", "eval"]


def generate(engine: sa.Engine, rows: int, models: list[str]) -> float:
    """Insert ``rows`` usage events of the month with one INSERT … SELECT generate_series; seconds taken."""
    started = time.perf_counter()
    use_cases = "ARRAY[" + ",".join(f"'{u}'" for u in USE_CASES) + "]"
    model_array = "ARRAY[" + ",".join(f"'{m}'" for m in models) + "]"
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT setseed(0.18)"))
        conn.execute(sa.text(f"""
            INSERT INTO usage_events (ts, request_id, department, principal, principal_kind, use_case, model,
                                      provider, operation, data_class, status, prompt_tokens, completion_tokens,
                                      latency_ms, cost_eur, energy_wh, gco2e, cpu_seconds)
            SELECT timestamptz '2026-11-01 00:00 Europe/Berlin' + (random() * interval '29 days 23 hours'),
                   'r' || g, 'dept-' || (g % 40), 'user-' || (g % 6000), 'user',
                   ({use_cases})[1 + (g % 12)], ({model_array})[1 + (g % {len(models)})], 'embedded', 'chat',
                   'intern', CASE WHEN g % 50 = 0 THEN 'refused' ELSE 'ok' END,
                   (100 + random() * 900)::int, (20 + random() * 300)::int, random() * 4000,
                   (random() * 0.001)::numeric(18, 8), random() * 2, random() * 0.7, random() * 5
            FROM generate_series(1, :n) AS g"""), {"n": rows})
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE usage_events"))
    return time.perf_counter() - started


def sql_reports(runtime: Any) -> tuple[float, dict[str, Any]]:
    from rathaus.governance.reports import KINDS, build_report

    started = time.perf_counter()
    out = {}
    with runtime.db.session() as session:
        for kind in KINDS:
            out[kind] = build_report(session, runtime.settings, runtime.catalog, kind, MONTH)
    return time.perf_counter() - started, out


def python_baseline(runtime: Any) -> tuple[float, dict[str, Any]]:
    """The same month's groupings (department, use case, model, department × use case; requests, people, tokens,
    €, Wh, gCO2e) computed row by row in Python over a streamed SELECT of the month's rows."""
    from rathaus.core.metering import month_bounds

    start, end = month_bounds(MONTH)
    started = time.perf_counter()
    groups: dict[tuple[str, ...], dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "ok": 0, "people": set(), "tokens": 0, "cost": 0.0, "wh": 0.0, "g": 0.0})
    query = sa.text("SELECT department, principal, use_case, model, status, prompt_tokens, completion_tokens, "
                    "cost_eur, energy_wh, gco2e FROM usage_events WHERE ts >= :s AND ts < :e")
    with runtime.db.engine.connect() as conn:
        streamed = conn.execution_options(stream_results=True, max_row_buffer=20000)
        result = streamed.execute(query, {"s": start, "e": end})
        for dept, person, use_case, model, status, p_tok, c_tok, cost, wh, g in result:
            for key in (("department", dept), ("use_case", use_case), ("model", model),
                        ("department_use_case", dept, use_case)):
                agg = groups[key]
                agg["requests"] += 1
                agg["ok"] += status == "ok"
                agg["people"].add(person)
                agg["tokens"] += p_tok + c_tok
                agg["cost"] += float(cost)
                agg["wh"] += wh
                agg["g"] += g
    return time.perf_counter() - started, groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from rathaus.runtime import Runtime

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the embedded PostgreSQL on kill, too
    settings = bench_settings("rathaus-bench-reports-")
    runtime = Runtime(settings)
    try:
        models = [m.name for m in runtime.catalog.models if m.kind == "chat"] or ["model"]
        gen_s = generate(runtime.db.engine, args.rows, models)
        print(f"generated {args.rows:,} rows in {gen_s:.1f} s (INSERT … SELECT generate_series)")
        sql_times, py_times = [], []
        reports: dict[str, Any] = {}
        baseline: dict[tuple[str, ...], dict[str, Any]] = {}
        for run in range(args.runs):  # interleaved, so that a busy moment hits both
            seconds, reports = sql_reports(runtime)
            sql_times.append(seconds)
            seconds_py, baseline = python_baseline(runtime)
            py_times.append(seconds_py)
            print(f"run {run + 1}: four reports in SQL {seconds:.2f} s, Python row-by-row baseline {seconds_py:.2f} s")
        climate = reports["climate"]
        # the two paths agree: requests and Wh per department (a check, not a timing)
        for row in climate.table("department").rows:
            if row[1] is None:
                continue
            base = baseline[("department", row[0])]
            assert row[2] == base["requests"] and abs(row[3] - base["wh"]) < 1e-6 * max(1.0, base["wh"]), row[0]
        staff = reports["staff"]
        suppressed = sum(1 for r in staff.table("department_use_case").rows if r[2] is None)
        sql_s, py_s = median(sql_times), median(py_times)
        figures = {
            "rows": args.rows, "month": MONTH, "runs": args.runs, "generate_seconds": gen_s,
            "seconds_1m_rows": sql_s if args.rows == 1_000_000 else None, "seconds_four_reports": sql_s,
            "seconds_python_baseline": py_s, "speedup_vs_python": py_s / sql_s,
            "requests_in_report": climate.summary["requests"], "energy_wh_in_report": climate.summary["energy_wh"],
            "staff_cells_suppressed": suppressed, **machine(),
        }
        print(f"\n{'path':<46}{'seconds (median of ' + str(args.runs) + ')':>26}{'ratio':>10}")
        print(f"{'Python row by row (baseline, same rows)':<46}{py_s:>26.2f}{1.0:>10.2f}")
        print(f"{'four reports, PostgreSQL GROUP BY (rathaus)':<46}{sql_s:>26.2f}{py_s / sql_s:>10.2f}")
        print(f"month {MONTH}: {climate.summary['requests']:,} requests, {climate.summary['energy_wh']:.1f} Wh")
        print(f"written: {write_result('reports', figures)}")
    finally:
        runtime.close()
        shutil.rmtree(settings.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
