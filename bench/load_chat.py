"""Chat under load: 1, 4, 16 and 50 concurrent streaming clients against the embedded model, over HTTP.

    .venv/bin/python bench/load_chat.py [--clients 1,4,16,50] [--tokens 16] [--client-timeout 45]

A real server (uvicorn on loopback, the shipped catalogue, the embedded model) answers
``POST /v1/chat/completions`` with ``stream: true``; each client asks a different short question for
``--tokens`` tokens and gives up after ``--client-timeout`` seconds (as a browser or a gateway in front would).
Measured per round: aggregate tokens/s (completion tokens of all finished answers / the round's wall time),
time to first token (p50/p95 of the answered), the share refused with 429 (and that every 429 carried
Retry-After), timeouts, and ``/healthz`` polled every 0.2 s during the round (p95 ms).

Baseline in the same run, same clients: the behaviour before issue 19 – every caller waits behind the model
with no limit (a gate with an unbounded queue and a 600 s wait), i.e. the old lock. rathaus: the shipped
admission (one slot, 16 places, 30 s). Nothing is tuned on these figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_settings, machine, merge_result, percentile, read_results, table
from rathaus.app import create_app
from rathaus.runtime import Runtime

TOPICS = ["Hund", "Katze", "Brücke", "Rathaus", "Fahrrad", "Baum", "Fluss", "Schule", "Markt", "Bahnhof"]


def serve(runtime: Runtime) -> tuple[Any, threading.Thread, str]:
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, thread, url


def one_client(url: str, i: int, tokens: int, timeout: float, out: list[dict[str, Any]]) -> None:
    body = {"messages": [{"role": "user", "content": f"Schreibe einen Satz über: {TOPICS[i % len(TOPICS)]} ({i})."}],
            "max_tokens": tokens, "temperature": 0, "stream": True}
    t0 = time.perf_counter()
    rec: dict[str, Any] = {"status": None, "ttft_ms": None, "tokens": 0}
    try:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=timeout) as resp:
            rec["status"] = resp.status_code
            if resp.status_code != 200:
                resp.read()
                rec["retry_after"] = resp.headers.get("Retry-After")
            else:
                for line in resp.iter_lines():
                    if time.perf_counter() - t0 > timeout:
                        raise httpx.ReadTimeout("client gave up")
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if rec["ttft_ms"] is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                        rec["ttft_ms"] = (time.perf_counter() - t0) * 1000
                    if chunk.get("usage"):
                        rec["tokens"] = chunk["usage"]["completion_tokens"]
    except httpx.TimeoutException:
        rec["status"] = "timeout"
    rec["seconds"] = time.perf_counter() - t0
    out.append(rec)


def round_of(url: str, n: int, tokens: int, timeout: float) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    health: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            try:
                httpx.get(url + "/healthz", timeout=30)
                health.append((time.perf_counter() - t) * 1000)
            except httpx.HTTPError:
                health.append(30_000.0)
            stop.wait(0.2)

    prober = threading.Thread(target=probe)
    prober.start()
    threads = [threading.Thread(target=one_client, args=(url, i, tokens, timeout, results)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    prober.join()
    ok = [r for r in results if r["status"] == 200 and r["tokens"]]
    refused = [r for r in results if r["status"] == 429]
    ttft = [r["ttft_ms"] for r in ok if r["ttft_ms"] is not None]
    return {"clients": n, "answered": len(ok), "refused_429": len(refused),
            "429_with_retry_after": sum(1 for r in refused if r.get("retry_after")),
            "timeouts": sum(1 for r in results if r["status"] == "timeout"),
            "other": sum(1 for r in results if r["status"] not in (200, 429, "timeout")),
            "tps": sum(r["tokens"] for r in ok) / wall, "wall_s": wall,
            "ttft_p50_ms": percentile(ttft, 0.5) if ttft else None,
            "ttft_p95_ms": percentile(ttft, 0.95) if ttft else None,
            "healthz_p95_ms": percentile(health, 0.95) if health else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default="1,4,16,50")
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--client-timeout", type=float, default=45.0)
    args = ap.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    figures: dict[str, Any] = {**machine(), "tokens": args.tokens, "client_timeout_s": args.client_timeout}
    rows = []
    for variant in ("baseline", "rathaus"):
        runtime = Runtime(bench_settings("rathaus-bench-load-"))
        runtime.gateway.warm_up()
        spec = runtime.catalog.get(runtime.catalog.defaults.chat)
        assert spec is not None
        if variant == "baseline":  # before issue 19: everybody waits behind the model's lock
            runtime.gateway.admission.gate(spec.name, 1, 100_000, 600.0)
        server, thread, url = serve(runtime)
        try:
            one_client(url, 0, 4, 120, [])  # warm: the model is loaded, the first request is not counted
            for n in counts:
                r = round_of(url, n, args.tokens, args.client_timeout)
                # let abandoned generations (baseline) finish before the next round
                gate = runtime.gateway.admission.gate(spec.name, 1, 0, 1)
                for _ in range(600):  # at most 5 minutes
                    if not (gate.status()["running"] or gate.status()["queued"]):
                        break
                    time.sleep(0.5)
                else:
                    print("the model did not become free within 5 minutes:", gate.status(), flush=True)
                prefix = "baseline_chat" if variant == "baseline" else "chat"
                figures.update({f"{prefix}_aggregate_tps_{n}": round(r["tps"], 3),
                                f"{prefix}_p95_ttft_ms_{n}": r["ttft_p95_ms"],
                                f"{prefix}_429_share_{n}": round(r["refused_429"] / n, 3),
                                f"{prefix}_timeout_share_{n}": round(r["timeouts"] / n, 3),
                                f"{prefix}_answered_{n}": r["answered"],
                                f"{prefix}_healthz_p95_ms_{n}": r["healthz_p95_ms"]})
                if r["refused_429"]:
                    figures[f"{prefix}_429_with_retry_after_{n}"] = r["429_with_retry_after"]
                rows.append((variant, n, r["answered"], r["refused_429"], r["timeouts"], f"{r['tps']:.2f}",
                             f"{r['ttft_p50_ms'] or 0:.0f}", f"{r['ttft_p95_ms'] or 0:.0f}",
                             f"{r['healthz_p95_ms'] or 0:.0f}", f"{r['wall_s']:.1f}"))
                print(rows[-1], flush=True)
        finally:
            server.should_exit = True
            thread.join(30)
            runtime.close()
    figures["healthz_p95_ms_under_chat_load"] = max(v for k, v in figures.items()
                                                    if k.startswith("chat_healthz_p95_ms_") and v is not None)
    # the worst of the chat load and the search load (bench/load_search.py) measured last
    figures["healthz_p95_ms_under_load"] = max(
        v for v in (figures["healthz_p95_ms_under_chat_load"],
                    read_results("load").get("healthz_p95_ms_under_search_load")) if v is not None)
    figures["chat_4_vs_1"] = round(figures["chat_aggregate_tps_4"] / figures["chat_aggregate_tps_1"], 3) \
        if 4 in counts and 1 in counts else None
    print(table(rows, ("variant", "clients", "answered", "429", "timeouts", "tokens/s", "TTFT p50 ms",
                       "TTFT p95 ms", "healthz p95 ms", "wall s")))
    print("written:", merge_result("load", figures))  # keeps the search figures of bench/load_search.py


if __name__ == "__main__":
    main()
