"""Scale-out under load: 20 concurrent document uploads and 20 crawl jobs against one PostgreSQL, served by one
API replica + one job worker (baseline) and by two replicas + two workers, all measured in the same run.

    .venv/bin/python bench/load_scaleout.py [--uploads 20] [--crawls 20] [--searches 100] [--seeds DIR]

Real processes (`rathaus serve` and `rathaus worker`, as a deployment runs them) share the embedded PostgreSQL of
one data directory; clients go to the replicas in turn (as a load balancer would). Per setup:
- uploads: --uploads Markdown documents (real German administrative text of the seed documents, each with a marker
  word of its own) posted at the same time to one collection – wall time, p50/p95 per upload, errors, and whether
  every document is then found by its marker through *every* replica;
- crawls: --crawls URL-ingestion jobs of pages served on loopback, run by the workers – time until all succeeded,
  jobs that needed more than one attempt (a job taken twice would show here), failures;
- searches: --searches concurrent searches spread over the replicas – searches/s, p95.
All traffic stays on loopback; every loop is bounded. Nothing is tuned on these figures.
"""

from __future__ import annotations

import argparse
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_SEEDS, bench_settings, machine, percentile, require, table, write_result
from rathaus.runtime import Runtime


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_paragraphs(folder: Path) -> list[str]:
    paras = [p.strip() for f in sorted(folder.glob("*.txt"))
             for p in f.read_text(encoding="utf-8", errors="replace").split("\n\n") if len(p.strip()) > 200]
    if not paras:
        raise SystemExit(f"bench: no seed text in {folder}")
    return paras


def document(paras: list[str], i: int, marker: str, words: int = 1500) -> str:
    out, n, k = [f"# Vorgang {i}\n\nAktenzeichen {marker}.\n"], 0, i * 7
    while n < words:
        para = paras[k % len(paras)]
        out.append(para)
        n += len(para.split())
        k += 1
    return "\n\n".join(out)


class Pages(http.server.ThreadingHTTPServer):
    """HTML pages on loopback for the crawl jobs: /page/<n>.html."""

    def __init__(self, paras: list[str]) -> None:
        self.paras = paras

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                n = int(self.path.rsplit("/", 1)[-1].split(".")[0]) if self.path.startswith("/page/") else -1
                if n < 0:
                    self.send_error(404)
                    return
                text = "".join(f"<p>{p}</p>" for p in paras[n % len(paras):n % len(paras) + 8])
                body = f"<html lang='de'><head><title>Seite {n}</title></head><body><h1>Seite {n}</h1>{text}" \
                       "</body></html>"
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def start(settings: Any, replicas: int, workers: int, logs: Path) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
                "RATHAUS_WORKER_EMBEDDED": "false", "RATHAUS_OUTBOUND_ALLOW": "127.0.0.1/32",
                "RATHAUS_SESSION_SECRET": uuid.uuid4().hex})
    procs: list[subprocess.Popen[bytes]] = []
    urls = []
    for i in range(replicas):
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "rathaus.cli", "serve", "--port", str(port)], env=env,
                                      stdout=(logs / f"api{i}.log").open("wb"), stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    for i in range(workers):
        procs.append(subprocess.Popen([sys.executable, "-m", "rathaus.cli", "worker", "--no-periodic",
                                       "--name", f"bench-worker-{i}"], env=env,
                                      stdout=(logs / f"worker{i}.log").open("wb"), stderr=subprocess.STDOUT))
    deadline = time.time() + 180
    for url in urls:
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                stop(procs)
                raise SystemExit(f"bench: {url} did not become ready; see {logs}")
            time.sleep(0.3)
    return procs, urls


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def uploads(urls: list[str], collection: str, paras: list[str], n: int, tag: str) -> dict[str, Any]:
    markers = [f"az{tag}{i:03d}x{uuid.uuid4().hex[:6]}" for i in range(n)]

    def one(i: int) -> tuple[int, float]:
        body = document(paras, i, markers[i]).encode()
        t0 = time.perf_counter()
        r = httpx.post(f"{urls[i % len(urls)]}/api/v1/collections/{collection}/documents",
                       files={"files": (f"vorgang-{tag}-{i}.md", body, "text/markdown")}, timeout=600)
        ok = r.status_code == 200 and r.json()["counts"].get("failed", 0) == 0
        if not ok:
            print(f"upload {i}: {r.status_code} {r.text[:300]}", file=sys.stderr)
        return (200 if ok else r.status_code), (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    wall = time.perf_counter() - t0
    found_everywhere = 0
    for marker in markers:  # consistency: each replica finds each document by its marker
        hits = [httpx.get(f"{url}/api/v1/search", params={"q": marker, "collection": collection, "mode": "fts"},
                          timeout=60).json() for url in urls]
        found_everywhere += all(any(marker in (h.get("text") or "").lower() for h in hit["hits"]) for hit in hits)
    ms = [r[1] for r in results]
    return {"upload_wall_s": wall, "upload_docs_per_s": n / wall, "upload_p50_ms": percentile(ms, 0.5),
            "upload_p95_ms": percentile(ms, 0.95), "upload_errors": sum(1 for r in results if r[0] != 200),
            "upload_found_on_every_replica": found_everywhere}


def crawls(urls: list[str], pages: Pages, n: int, tag: str) -> dict[str, Any]:
    jobs = []
    t0 = time.perf_counter()
    for i in range(n):
        name = f"web-{tag}-{i}"
        url = urls[i % len(urls)]
        httpx.post(f"{url}/api/v1/collections", json={"name": name, "title": name, "visibility": "private"},
                   timeout=60).raise_for_status()
        r = httpx.post(f"{url}/api/v1/collections/{name}/ingest",
                       json={"urls": [f"{pages.url}/page/{i * 3 + j}.html" for j in range(3)]}, timeout=60)
        r.raise_for_status()
        jobs.append(r.json()["job_id"])
    done: dict[int, dict[str, Any]] = {}
    deadline = time.time() + 900
    while len(done) < n and time.time() < deadline:
        for job in jobs:
            if job not in done:
                info = httpx.get(f"{urls[0]}/api/v1/jobs/{job}", timeout=30).json()
                if info["status"] in ("succeeded", "failed", "cancelled", "aborted"):
                    done[job] = info
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    return {"crawl_wall_s": wall, "crawl_jobs_per_min": 60 * len(done) / wall,
            "crawl_succeeded": sum(1 for j in done.values() if j["status"] == "succeeded"),
            "crawl_not_finished": n - len(done),
            "crawl_more_than_one_attempt": sum(1 for j in done.values() if j["attempts"] > 1)}


def searches(urls: list[str], collection: str, n: int) -> dict[str, Any]:
    words = ["Antrag", "Frist", "Bescheid", "Gebühr", "Widerspruch", "Wohnung", "Zuständigkeit", "Unterlagen"]

    def one(i: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        r = httpx.get(f"{urls[i % len(urls)]}/api/v1/search",
                      params={"q": f"{words[i % len(words)]} {words[(i * 3 + 1) % len(words)]}",
                              "collection": collection}, timeout=120)
        return r.status_code, (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    wall = time.perf_counter() - t0
    ms = [r[1] for r in results]
    return {"search_rps": n / wall, "search_p95_ms": percentile(ms, 0.95),
            "search_errors": sum(1 for r in results if r[0] != 200)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--crawls", type=int, default=20)
    ap.add_argument("--searches", type=int, default=100)
    ap.add_argument("--seeds", type=Path, default=SHARED_SEEDS)
    args = ap.parse_args()
    paras = seed_paragraphs(require(args.seeds, "seed documents"))
    settings = bench_settings("rathaus-bench-scaleout-")
    Runtime(settings).close()  # migrate once, before the processes start
    pages = Pages(paras)
    logs = Path(tempfile.mkdtemp(prefix="rathaus-bench-scaleout-logs-"))
    figures: dict[str, Any] = {**machine(), "uploads": args.uploads, "crawls": args.crawls,
                               "searches": args.searches}
    rows = []
    for label, n in (("baseline", 1), ("replicas2", 2)):
        procs, urls = start(settings, replicas=n, workers=n, logs=logs)
        try:
            collection = f"last-{label}"
            httpx.post(f"{urls[0]}/api/v1/collections", json={"name": collection, "title": collection,
                                                             "visibility": "public"}, timeout=60).raise_for_status()
            got = {**uploads(urls, collection, paras, args.uploads, label), **crawls(urls, pages, args.crawls, label),
                   **searches(urls, collection, args.searches)}
        finally:
            stop(procs)
        figures.update({f"{label}_{k}": v for k, v in got.items()})
        rows.append((f"{n} API + {n} worker", f"{got['upload_wall_s']:.1f}", f"{got['upload_p95_ms']:.0f}",
                     f"{got['upload_errors']}", f"{got['upload_found_on_every_replica']}/{args.uploads}",
                     f"{got['crawl_wall_s']:.1f}", f"{got['crawl_succeeded']}/{args.crawls}",
                     f"{got['crawl_more_than_one_attempt']}", f"{got['search_rps']:.1f}",
                     f"{got['search_p95_ms']:.0f}"))
    pages.shutdown()
    for key in ("upload_wall_s", "crawl_wall_s"):
        figures[f"{key}_2_vs_1"] = figures[f"replicas2_{key}"] / figures[f"baseline_{key}"]
    figures["search_rps_2_vs_1"] = figures["replicas2_search_rps"] / figures["baseline_search_rps"]
    print(table(rows, ("setup", "uploads s", "upload p95 ms", "errors", "found everywhere", "crawls s", "crawls ok",
                       ">1 attempt", "searches/s", "search p95 ms")))
    print(f"2 replicas vs 1: uploads {figures['upload_wall_s_2_vs_1']:.2f}× the time, crawls "
          f"{figures['crawl_wall_s_2_vs_1']:.2f}×, searches/s {figures['search_rps_2_vs_1']:.2f}× (2 cores shared by "
          "every process: more replicas add availability, not CPU)")
    print("written:", write_result("load_scaleout", figures))


if __name__ == "__main__":
    main()
