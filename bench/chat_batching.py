"""Chat with and without batching: the in-process model against llama-server with parallel slots, over HTTP.

    PYTHONPATH=src .venv/bin/python bench/chat_batching.py --server PATH_TO_llama-server \\
        [--clients 1,4,16,50] [--tokens 64] [--parallel 4,16] [--client-timeout 120]

A real rathaus server (uvicorn on loopback, the shipped catalogue and model, the embedded PostgreSQL) answers
``POST /v1/chat/completions`` with ``stream: true``; every client asks a different fixed question for
``--tokens`` tokens at temperature 0, all at once. Per round: aggregate decode tokens/s (completion tokens of
all answers / the round's wall time), time to first token (p50/p95 of the answered), the slowest client's own
decode rate (tokens / (end − first token): is anybody starved?), 429s (admission) and timeouts, and tokens per
CPU second as the gateway metered them (usage_events.cpu_seconds: the in-process engine's process time, or the
llama-server child's CPU time shared among the calls running at once) – the engine's efficiency, which unlike
tokens/s does not depend on how much of the cores other processes take.

Baseline in the same run, same clients: the in-process engine (llama-cpp-python, one call at a time, 1 admission
slot) as rathaus ships it. Batching: ``RATHAUS_EMBEDDED_ENGINE=llama-server`` – rathaus starts the given binary as a
supervised child on loopback with ``--parallel N`` (continuous batching) and as many admission slots, and talks to
it through its OpenAI-compatible provider, so the figures are what a rathaus user gets. Both use 2 threads.
The machine's load average is recorded before every variant (other processes share the cores).
Nothing is tuned on these figures. Runtime about 6–9 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, bench_settings, machine, percentile, table, write_result
from load_chat import one_client, serve
from rathaus.runtime import Runtime

THREADS = 2


def round_of(url: str, n: int, tokens: int, timeout: float) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=one_client, args=(url, i, tokens, timeout, results)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = [r for r in results if r["status"] == 200 and r["tokens"] and r["ttft_ms"] is not None]
    ttft = [r["ttft_ms"] for r in ok]
    own = [r["tokens"] / max(r["seconds"] - r["ttft_ms"] / 1000, 1e-3) for r in ok]
    return {"clients": n, "answered": len(ok), "refused_429": sum(1 for r in results if r["status"] == 429),
            "timeouts": sum(1 for r in results if r["status"] == "timeout"),
            "other": sum(1 for r in results if r["status"] not in (200, 429, "timeout")),
            "tps": sum(r["tokens"] for r in ok) / wall, "wall_s": wall,
            "ttft_p50_ms": percentile(ttft, 0.5) if ttft else None,
            "ttft_p95_ms": percentile(ttft, 0.95) if ttft else None,
            "min_client_tps": min(own) if own else None,
            "max_client_s": max(r["seconds"] for r in ok) if ok else None}


def metered(runtime: Runtime) -> tuple[float, int]:
    """CPU seconds and completion tokens the gateway metered for answered chats so far (usage_events)."""
    import sqlalchemy as sa

    with runtime.db.engine.connect() as conn:
        cpu, tokens = conn.execute(sa.text(
            "SELECT coalesce(sum(cpu_seconds), 0), coalesce(sum(completion_tokens), 0) FROM usage_events "
            "WHERE operation LIKE 'chat%' AND status = 'ok'")).one()
    return float(cpu), int(tokens)


def variant(name: str, overrides: dict[str, Any], counts: list[int], tokens: int, timeout: float,
            figures: dict[str, Any], rows: list[tuple[Any, ...]]) -> None:
    figures[f"{name}_load_avg_1m_before"] = round(os.getloadavg()[0], 2)
    runtime = Runtime(bench_settings("rathaus-bench-batching-", llm_threads=THREADS, **overrides))
    try:
        runtime.gateway.warm_up()
        spec = runtime.catalog.get(runtime.catalog.defaults.chat)
        assert spec is not None
        slots = runtime.gateway.concurrency(spec)
        figures[f"{name}_slots"] = slots
        server, thread, url = serve(runtime)
        try:
            one_client(url, 0, 4, 300, [])  # warm: the first request is not counted
            for n in counts:
                cpu0, tok0 = metered(runtime)
                r = round_of(url, n, tokens, timeout)
                gate = runtime.gateway.admission.gate(spec.name, slots, 0, 1)
                for _ in range(600):  # abandoned calls (timeouts) finish before the next round; at most 5 minutes
                    if not (gate.status()["running"] or gate.status()["queued"]):
                        break
                    time.sleep(0.5)
                cpu1, tok1 = metered(runtime)
                r["tokens_per_cpu_s"] = (tok1 - tok0) / (cpu1 - cpu0) if cpu1 > cpu0 else None
                figures.update({f"{name}_chat_tokens_per_cpu_s_{n}": r["tokens_per_cpu_s"],
                                f"{name}_chat_aggregate_tps_{n}": round(r["tps"], 3),
                                f"{name}_chat_p95_ttft_ms_{n}": r["ttft_p95_ms"],
                                f"{name}_chat_p50_ttft_ms_{n}": r["ttft_p50_ms"],
                                f"{name}_chat_min_client_tps_{n}": r["min_client_tps"],
                                f"{name}_chat_answered_{n}": r["answered"],
                                f"{name}_chat_429_share_{n}": round(r["refused_429"] / n, 3),
                                f"{name}_chat_timeout_share_{n}": round(r["timeouts"] / n, 3)})
                rows.append((name, slots, n, r["answered"], r["refused_429"], r["timeouts"] + r["other"],
                             f"{r['tps']:.2f}", f"{r['ttft_p50_ms'] or 0:.0f}", f"{r['ttft_p95_ms'] or 0:.0f}",
                             f"{r['min_client_tps'] or 0:.1f}", f"{r['tokens_per_cpu_s'] or 0:.2f}",
                             f"{r['wall_s']:.1f}"))
                print(rows[-1], flush=True)
        finally:
            server.should_exit = True
            thread.join(30)
        if 1 in counts and 4 in counts:
            figures[f"{name}_chat_4_vs_1"] = round(figures[f"{name}_chat_aggregate_tps_4"]
                                                   / figures[f"{name}_chat_aggregate_tps_1"], 3)
    finally:
        provider = runtime.gateway._providers.get(runtime.catalog.defaults.chat)
        server_proc = getattr(provider, "server", None)
        if server_proc is not None:  # stop this variant's llama-server before the next variant measures
            server_proc.close()
        runtime.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", type=Path,
                    help="the llama-server binary (default: $RATHAUS_CACHE_DIR/bin/llama-server)")
    ap.add_argument("--clients", default="1,4,16,50")
    ap.add_argument("--parallel", default="4,16", help="llama-server slots to measure; the first is the headline")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--client-timeout", type=float, default=120.0)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--no-headline", action="store_true",
                    help="write only the engine-prefixed keys (inprocess_*, llama_server_p*_*), not issue 19's "
                         "chat_*/baseline_chat_* headline keys – for runs on a busy machine")
    args = ap.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    parallels = [int(p) for p in args.parallel.split(",") if p]
    binary = args.server or bench_settings("rathaus-bench-batching-").llama_server_binary
    if parallels and not binary.is_file():
        print(f"bench: llama-server not found at {binary}; build it with scripts/install.sh --llama-server "
              "or pass --server PATH", file=sys.stderr)
        raise SystemExit(2)
    figures: dict[str, Any] = {**machine(), "chat_batching_tokens": args.tokens, "chat_batching_threads": THREADS,
                               "chat_batching_client_timeout_s": args.client_timeout}
    rows: list[tuple[Any, ...]] = []
    if not args.skip_baseline:
        variant("inprocess", {"embedded_engine": "llama-cpp-python"}, counts, args.tokens, args.client_timeout,
                figures, rows)
    for p in parallels:
        variant(f"llama_server_p{p}", {"embedded_engine": "llama-server", "llama_server": binary,
                                       "llama_server_parallel": p},
                counts, args.tokens, args.client_timeout, figures, rows)
    figures["chat_batching_load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(table(rows, ("engine", "slots", "clients", "answered", "429", "timeouts", "tokens/s", "TTFT p50 ms",
                       "TTFT p95 ms", "slowest client tok/s", "tokens/CPU s", "wall s")))
    # headline keys of issue 19: the engine measured first (llama-server with the first --parallel), next to the
    # in-process engine as baseline_*
    head = f"llama_server_p{parallels[0]}" if parallels and not args.no_headline else None
    base = None if args.skip_baseline or args.no_headline else "inprocess"
    for source, prefix in ((head, "chat"), (base, "baseline_chat")):
        if source is None:
            continue
        for n in counts:
            figures[f"{prefix}_aggregate_tps_{n}"] = figures[f"{source}_chat_aggregate_tps_{n}"]
            figures[f"{prefix}_p95_ttft_ms_{n}"] = figures[f"{source}_chat_p95_ttft_ms_{n}"]
        if f"{source}_chat_4_vs_1" in figures:
            figures[f"{prefix}_4_vs_1"] = figures[f"{source}_chat_4_vs_1"]
    if head:
        figures["chat_engine"] = f"llama-server --parallel {parallels[0]} (bench/chat_batching.py)"
    path = RESULTS / "load.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(figures)
    print("written:", write_result("load", merged))


if __name__ == "__main__":
    main()
