"""Search under load: 200 concurrent clients against ``GET /api/v1/search`` of a live server, ``/healthz`` probed.

    PYTHONPATH=src .venv/bin/python bench/load_search.py [--clients 200] [--per-client 5] [--variants baseline,rathaus]

A real server (``python -m rathaus.cli serve`` in its own process, loopback, local mode, the shipped catalogue and
embedder) answers hybrid searches over three collections in the embedded PostgreSQL: the sample content
(``ki-roadmap``, council records) and – when ``../shared/data`` has it – the German official FAQ (390 entries).
``--clients`` httpx async clients each send ``--per-client`` searches one after the
other (bounded loops, no think time); a separate thread requests ``/healthz`` every 0.1 s on a new connection
(as a kubelet does) for the whole round.

Queries: a realistic mix of repeated and distinct questions – citizens' colloquial FAQ questions, the colloquial
half of the FAQ paraphrase pairs and MLQA questions, drawn with a Zipf law (s = 1: a few questions are asked very
often, most rarely); MLQA's questions (Wikipedia topics) stand for questions the collections cannot answer well.
When the data sets are absent the pool is the sample documents' headings and sentences (said in the output). A
second round ("distinct") sends every question of the pool once only, so no cache can help.

Variants, measured in the same run against the same data: **baseline** – the behaviour before issue 19 (searches in
the server's shared thread pool, no query-embedding cache, no batching, the old database pool of 10 + 20) set by
the settings documented in docs/operations.md; **rathaus** – the shipped defaults. The number of search threads
(32) was chosen with the sizing variants below (``--variants baseline,threads8,threads16,rathaus``) on a busy
machine; nothing else is tuned on these figures. Results are merged into bench/results/load.json (other keys are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, bench_settings, ingest_jsonl, machine, merge_result, percentile, read_results, table

#: the settings of the behaviour before issue 19 (docs/operations.md, "Search under load")
BASELINE_ENV = {
    "RATHAUS_KNOWLEDGE_SEARCH_THREADS": "0",  # 0: in the server's shared thread pool, as before
    "RATHAUS_QUERY_EMBEDDING_CACHE_SIZE": "0",
    "RATHAUS_QUERY_EMBEDDING_BATCH": "1",
    "RATHAUS_DATABASE_POOL_SIZE": "10",
    "RATHAUS_DATABASE_MAX_OVERFLOW": "20",
}
#: further variants for sizing (``--variants``), not written to the results unless asked for
EXTRA_VARIANTS = {
    "threads8": {"RATHAUS_KNOWLEDGE_SEARCH_THREADS": "8"},
    "threads16": {"RATHAUS_KNOWLEDGE_SEARCH_THREADS": "16"},
    "nobatch": {"RATHAUS_QUERY_EMBEDDING_BATCH": "1"},
    "nocache": {"RATHAUS_QUERY_EMBEDDING_CACHE_SIZE": "0"},
}
WARM_UP = ["Öffnungszeiten Bürgerbüro", "Wie beantrage ich einen Reisepass?", "KI-Strategie der Stadt",
           "Hundesteuer anmelden", "Wohngeld Antrag"]


# --- data ----------------------------------------------------------------------------------------------------------

def question_pool(sample_dir: Path) -> tuple[list[str], str]:
    """Distinct questions (deduplicated, in a fixed order) and where they came from."""
    found: list[str] = []
    sources = []
    faq = SHARED_DATA / "official-faq-de"
    if (faq / "questions_dev.jsonl").exists():
        found += [json.loads(line)["question"] for line in (faq / "questions_dev.jsonl").read_text().splitlines()
                  if line.strip()]
        sources.append("official-faq-de questions")
    if (faq / "paraphrase_pairs_dev.csv").exists():
        with (faq / "paraphrase_pairs_dev.csv").open(encoding="utf-8") as f:
            found += [row["question_2"] for row in csv.DictReader(f)]
        sources.append("official-faq-de paraphrases")
    mlqa = SHARED_DATA / "mlqa-de" / "questions_dev.jsonl"
    if mlqa.exists():
        found += [json.loads(line)["question"] for line in mlqa.read_text().splitlines() if line.strip()]
        sources.append("mlqa-de questions")
    if not found:  # fall back to the sample content: its headings and first words of its sentences
        for path in sorted(sample_dir.iterdir()):
            if path.name == "SOURCES.md":
                continue
            text = path.read_text(encoding="utf-8")
            found += [h.strip("# ").strip() for h in text.splitlines() if h.startswith("#")]
            found += [" ".join(s.split()[:8]) for s in re.split(r"(?<=[.?!])\s+", text) if len(s.split()) >= 5]
        sources.append(f"sample content headings and sentences ({sample_dir.name}; the shared data sets are absent)")
    seen: set[str] = set()
    pool = []
    for q in found:
        key = " ".join(q.split()).casefold()
        if key and key not in seen and key not in {w.casefold() for w in WARM_UP}:
            seen.add(key)
            pool.append(" ".join(q.split()))
    return pool, ", ".join(sources)


def zipf_queries(pool: list[str], n: int, seed: int = 19) -> list[str]:
    """``n`` questions drawn from ``pool`` with a Zipf law (s = 1) over a shuffled order of the pool."""
    rng = random.Random(seed)
    order = pool[:]
    rng.shuffle(order)
    weights = [1 / (rank + 1) for rank in range(len(order))]
    return rng.choices(order, weights=weights, k=n)


def prepare(settings: Any) -> tuple[Any, dict[str, Any]]:
    """The runtime owning the database (kept open so the embedded server stays up) and the corpus' figures."""
    from rathaus.core.auth import local_principal
    from rathaus.knowledge.samples import SAMPLE, SAMPLES_DIR, ensure_samples
    from rathaus.runtime import Runtime

    rt = Runtime(settings)
    principal = local_principal(settings)
    counts = ensure_samples(rt, principal).counts
    corpus: dict[str, Any] = {"ki-roadmap": counts.get("chunks"), "sample_dir": str(SAMPLES_DIR / SAMPLE["name"])}
    for name, folder in (("faq", "official-faq-de"),):
        passages = SHARED_DATA / folder / "passages.jsonl"
        if passages.exists():
            seconds, chunks = ingest_jsonl(rt, principal, name, passages)
            corpus[name] = chunks
            print(f"ingested {folder}: {chunks} chunks in {seconds:.0f} s", flush=True)
        else:
            print(f"{folder} not found at {passages}: not ingested", flush=True)
    return rt, corpus


# --- server --------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(settings: Any, extra_env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
           "RATHAUS_AUTH_MODE": "local", "RATHAUS_WORKER_EMBEDDED": "false", **extra_env}
    env.pop("RATHAUS_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "rathaus.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=settings.data_dir, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):  # at most 2 minutes (warm-up loads the models)
        if proc.poll() is not None:
            raise SystemExit(f"bench: the server exited with {proc.returncode} before it answered")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(proc)
    raise SystemExit("bench: the server did not answer /healthz within 2 minutes")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def metric_sum(url: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus counter's samples with these labels (0 when absent)."""
    text = httpx.get(url + "/metrics", timeout=30).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- load ----------------------------------------------------------------------------------------------------------

def probe(url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        try:
            httpx.get(url + "/healthz", timeout=30)
            out.append((time.perf_counter() - t) * 1000)
        except httpx.HTTPError:
            out.append(30_000.0)
        stop.wait(0.1)


async def run_clients(url: str, queries: list[str], clients: int, rate: float = 0.0
                      ) -> tuple[list[dict[str, Any]], float]:
    """Each client sends its searches one after the other; with ``rate`` (searches/s of all clients together)
    client i sends its j-th search at (i + j * clients) / rate seconds (or at once when it is behind): an
    arrival rate, as from many people searching now and then, instead of a closed loop without pauses."""
    per_client = [queries[i::clients] for i in range(clients)]
    records: list[dict[str, Any]] = []
    # idle connections are dropped after 2 s, before uvicorn closes them (5 s): no reuse of a closing connection
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        async def one(i: int, mine: list[str]) -> None:
            for j, q in enumerate(mine):
                if rate:
                    await asyncio.sleep(max(0.0, t0 + (i + j * clients) / rate - time.perf_counter()))
                t = time.perf_counter()
                try:
                    resp = await client.get("/api/v1/search", params={"q": q, "k": 10})
                    status: Any = resp.status_code
                    hits = len(resp.json().get("hits", [])) if status == 200 else 0
                except httpx.HTTPError as exc:
                    status, hits = type(exc).__name__, 0
                records.append({"status": status, "ms": (time.perf_counter() - t) * 1000, "hits": hits})

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i, m) for i, m in enumerate(per_client)))
        wall = time.perf_counter() - t0
    return records, wall


def round_of(url: str, queries: list[str], clients: int, rate: float = 0.0) -> dict[str, Any]:
    health: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=probe, args=(url, stop, health))
    prober.start()
    try:
        records, wall = asyncio.run(run_clients(url, queries, clients, rate))
    finally:
        stop.set()
        prober.join()
    ok = [r for r in records if r["status"] == 200]
    ms = [r["ms"] for r in ok]
    return {"searches": len(records), "ok": len(ok), "errors": len(records) - len(ok),
            "error_kinds": sorted({str(r["status"]) for r in records if r["status"] != 200}),
            "no_hits": sum(1 for r in ok if not r["hits"]), "wall_s": wall, "rps": len(ok) / wall,
            "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95), "max_ms": max(ms) if ms else None,
            "healthz_p95_ms": percentile(health, 0.95), "healthz_max_ms": max(health) if health else None,
            "healthz_probes": len(health)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--per-client", type=int, default=5, help="searches each client sends in the mixed round")
    ap.add_argument("--variants", default="baseline,rathaus")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="searches/s of all clients together (paced arrivals; default: closed loop, no pauses)")
    ap.add_argument("--no-write", action="store_true", help="print only, leave bench/results/load.json alone")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    settings = bench_settings("rathaus-bench-load-search-")
    t_setup = time.perf_counter()
    rt, corpus = prepare(settings)
    pool, pool_source = question_pool(Path(corpus["sample_dir"]))
    n = args.clients * args.per_client
    mixed = zipf_queries(pool, n)
    repeated_share = 1 - len(set(mixed)) / n
    distinct = random.Random(7).sample(pool, min(n, len(pool)))
    print(f"setup {time.perf_counter() - t_setup:.0f} s; corpus {corpus}; query pool {len(pool)} ({pool_source}); "
          f"mixed round: {n} searches, {len(set(mixed))} distinct, {repeated_share:.0%} repeats; "
          f"distinct round: {len(distinct)} searches, each question once", flush=True)
    figures: dict[str, Any] = {"search_clients": args.clients, "search_per_client": args.per_client,
                               "search_query_pool": len(pool), "search_query_source": pool_source,
                               "search_repeated_share": round(repeated_share, 3),
                               "search_corpus_chunks": sum(v for k, v in corpus.items() if isinstance(v, int))}
    rows = []
    try:
        for variant in variants:
            env = BASELINE_ENV if variant.startswith("baseline") else EXTRA_VARIANTS.get(variant, {})
            for kind, queries in (("mixed", mixed), ("distinct", distinct)):
                proc, url = start_server(settings, env)  # a fresh server per round: an empty cache
                try:
                    for q in WARM_UP:  # the first searches compile statements and fill the pool: not counted
                        httpx.get(url + "/api/v1/search", params={"q": q}, timeout=120).raise_for_status()
                    hits0 = metric_sum(url, "rathaus_query_embedding_cache_total", result="hit")
                    r = round_of(url, queries, args.clients, args.rate)
                    hits = metric_sum(url, "rathaus_query_embedding_cache_total", result="hit") - hits0
                finally:
                    stop_server(proc)
                prefix = {"baseline": "baseline_search", "rathaus": "search"}.get(variant, f"{variant}_search")
                suffix = f"_{args.clients}" + (f"_at_{args.rate:g}_per_s" if args.rate else "") \
                    + ("_distinct" if kind == "distinct" else "")
                figures.update({f"{prefix}_rps{suffix}": round(r["rps"], 2),
                                f"{prefix}_p50_ms{suffix}": round(r["p50_ms"], 1),
                                f"{prefix}_p95_ms{suffix}": round(r["p95_ms"], 1),
                                f"{prefix}_errors{suffix}": r["errors"],
                                f"{prefix}_healthz_p95_ms{suffix}": round(r["healthz_p95_ms"], 1),
                                f"{prefix}_healthz_max_ms{suffix}": round(r["healthz_max_ms"] or 0, 1),
                                f"{prefix}_cache_hits{suffix}": int(hits)})
                rows.append((variant, kind, r["searches"], r["errors"], f"{r['rps']:.1f}", f"{r['p50_ms']:.0f}",
                             f"{r['p95_ms']:.0f}", f"{r['max_ms'] or 0:.0f}", f"{r['healthz_p95_ms']:.0f}",
                             f"{r['healthz_max_ms'] or 0:.0f}", int(hits), f"{r['wall_s']:.1f}"))
                if r["errors"]:
                    print("errors:", r["error_kinds"], flush=True)
                print(rows[-1], flush=True)
    finally:
        rt.close()
    if args.clients == 200 and "baseline_search_rps_200" in figures and "search_rps_200" in figures:
        figures["search_rps_200_vs_baseline"] = round(figures["search_rps_200"] / figures["baseline_search_rps_200"], 2)
        figures["search_p95_200_vs_baseline"] = round(figures["search_p95_ms_200"]
                                                      / figures["baseline_search_p95_ms_200"], 3)
    if "search_healthz_p95_ms_200" in figures:
        figures["healthz_p95_ms_under_search_load"] = max(
            figures["search_healthz_p95_ms_200"], figures.get("search_healthz_p95_ms_200_distinct", 0))
    print(table(rows, ("variant", "round", "searches", "errors", "searches/s", "p50 ms", "p95 ms", "max ms",
                       "healthz p95 ms", "healthz max ms", "cache hits", "wall s")))
    if not args.no_write:
        if "healthz_p95_ms_under_search_load" in figures:  # the key of the issue: the worst of chat and search load
            known = read_results("load")
            chat = known.get("healthz_p95_ms_under_chat_load", known.get("healthz_p95_ms_under_load"))
            figures.setdefault("healthz_p95_ms_under_chat_load", chat)
            figures["healthz_p95_ms_under_load"] = max(
                v for v in (chat, figures["healthz_p95_ms_under_search_load"]) if v is not None)
        print("written:", merge_result("load", {**figures, **machine()}))


if __name__ == "__main__":
    main()
