"""API load: requests/s and latency of /v1/embeddings under 20 concurrent clients on loopback.

A real `rathaus serve` process (embedded PostgreSQL, shipped embedder, metering and audit on every
request) is loaded by wrk (20 connections, 2 threads; Python client threads with --python-client)
sending one MLQA-de question per request. Baseline in
the same run: the same texts embedded directly in-process, one at a time (no HTTP, no metering).

    .venv/bin/python bench/api_embeddings.py [--clients 20] [--seconds 20] [--questions FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, machine, median, percentile, require, table, write_result


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WRK_SCRIPT = """
local bodies = {%s}
local i = 0
local errors = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/embeddings", {["Content-Type"] = "application/json"}, bodies[(i %% #bodies) + 1])
end
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50_ms": %%f, "p95_ms": %%f, "p99_ms": %%f, '
    .. '"errors": %%d}\\n', summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.errors.status + errors))
end
"""


def run_wrk(url: str, texts: list[str], clients: int, seconds: int) -> dict:
    """wrk (C, light on CPU) with a Lua script cycling through the questions; 2 load threads."""
    bodies = ", ".join(
        "[[" + json.dumps({"input": t, "input_type": "query", "data_class": "oeffentlich"}) + "]]" for t in texts
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT % bodies)
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", fh.name,
                          url + "/v1/embeddings"], capture_output=True, text=True, check=True).stdout
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    result["rps"] = result["requests"] / result["seconds"]
    result["generator"] = "wrk"
    return result


def run_python_clients(url: str, texts: list[str], clients: int, requests: int) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=60) as http:
            for i in counter:
                body = {"input": texts[i % len(texts)], "input_type": "query", "data_class": "oeffentlich"}
                t = time.perf_counter()
                resp = http.post("/v1/embeddings", json=body)
                dt = time.perf_counter() - t
                with lock:
                    if resp.status_code == 200:
                        latencies.append(dt)
                    else:
                        errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"rps": len(latencies) / wall, "p50_ms": median(latencies) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": errors, "requests": len(latencies), "generator": "python-threads"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=1000, help="with --python-client")
    ap.add_argument("--seconds", type=int, default=20, help="duration of the wrk run")
    ap.add_argument("--python-client", action="store_true", help="use Python threads instead of wrk")
    ap.add_argument("--questions", type=Path, default=SHARED_DATA / "mlqa-de" / "questions_dev.jsonl")
    args = ap.parse_args()
    path = require(args.questions, "MLQA-de questions")
    texts = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    # baseline: direct in-process embedding, one text per call
    from rathaus.core.settings import DEFAULT_MODELS_FILE
    from rathaus.models.catalog import load_catalog
    from rathaus.models.providers.embedded_embedder import EmbeddedEmbedder

    catalog = load_catalog(DEFAULT_MODELS_FILE)
    embedder = EmbeddedEmbedder(catalog.get(catalog.defaults.embedding))
    embedder.warm_up()
    direct: list[float] = []
    t0 = time.perf_counter()
    for i in range(min(args.requests, 500)):
        t = time.perf_counter()
        embedder.embed([texts[i % len(texts)]], purpose="query")
        direct.append(time.perf_counter() - t)
    direct_rps = len(direct) / (time.perf_counter() - t0)

    workdir = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(workdir)})
    server = subprocess.Popen([sys.executable, "-m", "rathaus.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start: {server.stderr.read() if server.stderr else ''}")
            time.sleep(0.2)

        for i in range(20):  # warm-up
            httpx.post(url + "/v1/embeddings", json={"input": texts[i], "data_class": "oeffentlich"}, timeout=60)
        if shutil.which("wrk") and not args.python_client:
            load = run_wrk(url, texts, args.clients, args.seconds)
        else:
            load = run_python_clients(url, texts, args.clients, args.requests)
    finally:
        server.terminate()
        server.wait(30)

    api_rps = load["rps"]
    figures = {
        "api_rps": api_rps, "p50_ms": load["p50_ms"], "p95_ms": load["p95_ms"], "p99_ms": load["p99_ms"],
        "errors": load["errors"], "clients": args.clients, "requests": load["requests"],
        "load_generator": load["generator"], "direct_rps": direct_rps, "direct_p50_ms": median(direct) * 1000,
        "direct_p95_ms": percentile(direct, 0.95) * 1000, "api_to_direct_rps": api_rps / direct_rps, **machine(),
    }
    print(table([
        ("direct embedder call (in process, 1 at a time)", f"{direct_rps:.1f}", f"{median(direct) * 1000:.1f}",
         f"{percentile(direct, 0.95) * 1000:.1f}", "1.00 (baseline)"),
        (f"HTTP /v1/embeddings, {args.clients} clients ({load['generator']}; metered, audited)", f"{api_rps:.1f}",
         f"{figures['p50_ms']:.1f}", f"{figures['p95_ms']:.1f}", f"{api_rps / direct_rps:.2f}"),
    ], ("path", "req/s", "p50 ms", "p95 ms", "ratio")))
    if load["errors"]:
        print(f"errors: {load['errors']}")
    print(f"\nwritten: {write_result('api_embeddings', figures)}")


if __name__ == "__main__":
    main()
