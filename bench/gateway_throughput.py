"""Gateway overhead: tokens/s of the embedded model through the gateway and the HTTP API vs. a direct
llama-cpp-python call, all in one run, next to the memory-bandwidth bound of this machine.

Decoding a dense model reads (almost) all its weights once per generated token, so
tokens/s <= memory bandwidth / model size. The bandwidth is measured here with numpy
(sum over a 1 GiB array, best of 5).

Greedy decoding makes all three paths produce the same text, so their speeds compare directly;
"decode" counts from the first to the last streamed piece (prompt processing excluded).

    .venv/bin/python bench/gateway_throughput.py [--tokens 128] [--runs 3] [--seeds DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_SEEDS, machine, median, require, table, write_result
from rathaus.core.auth import local_principal
from rathaus.core.classification import DataClass
from rathaus.core.settings import Settings
from rathaus.models.gateway import CallContext
from rathaus.models.types import ChatMessage, ChatParams, StreamDelta
from rathaus.runtime import Runtime


def memory_bandwidth_gbs(threads: int) -> float:
    """Read bandwidth: ``threads`` threads each summing their own 512 MiB array (numpy releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    arrays = [np.ones(2**26, dtype=np.float64) for _ in range(threads)]
    best = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(5):
            t0 = time.perf_counter()
            list(pool.map(np.sum, arrays))
            best = max(best, sum(a.nbytes for a in arrays) / (time.perf_counter() - t0) / 1e9)
    return best


def prompt_from_seeds(seeds: Path) -> str:
    text = next(iter(sorted(seeds.glob("*.txt")))).read_text(encoding="utf-8")
    body = " ".join(text.split())[:1200]
    return f"Fasse den folgenden Text in ausführlichen Stichpunkten zusammen:\n\n{body}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seeds", type=Path, default=SHARED_SEEDS)
    args = ap.parse_args()
    prompt = prompt_from_seeds(require(args.seeds, "seed documents"))
    messages = [{"role": "user", "content": prompt}]

    workdir = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    settings = Settings(_env_file=None, data_dir=workdir, database_name="bench_" + uuid.uuid4().hex[:6])
    runtime = Runtime(settings)
    spec = runtime.catalog.get(runtime.catalog.defaults.chat)
    assert spec is not None and spec.provider == "embedded"
    runtime.gateway.provider(spec).warm_up()
    llm = runtime.gateway.provider(spec)._shared.llm  # the very same loaded model, called directly

    def timed(chunks) -> tuple[int, float, float]:
        """(tokens, end-to-end seconds, decode seconds from first to last token) of a stream of pieces."""
        t0 = time.perf_counter()
        stamps = [time.perf_counter() for _ in chunks]
        return len(stamps), stamps[-1] - t0, stamps[-1] - stamps[0]

    def direct_chunks():
        for chunk in llm.create_chat_completion(messages=messages, max_tokens=args.tokens, temperature=0,
                                                stream=True):
            if chunk["choices"][0]["delta"].get("content"):
                yield chunk

    ctx = CallContext(principal=local_principal(settings), data_class=DataClass.INTERN, use_case="bench")

    def gateway_chunks():
        prepared = runtime.gateway.chat_stream(ctx, [ChatMessage("user", prompt)],
                                               params=ChatParams(max_tokens=args.tokens, temperature=0))
        for event in prepared.events():
            if isinstance(event, StreamDelta):
                yield event

    import uvicorn

    from rathaus.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/chat/completions"

    def api_chunks():
        body = {"messages": messages, "max_tokens": args.tokens, "temperature": 0, "stream": True,
                "data_class": "intern"}
        with httpx.stream("POST", url, json=body, timeout=600) as resp:
            for line in resp.iter_lines():
                if line.startswith("data: {") and '"content": "' in line and '"content": ""' not in line:
                    yield line

    paths = {"direct": direct_chunks, "gateway": gateway_chunks, "api": api_chunks}
    e2e: dict[str, list[float]] = {k: [] for k in paths}
    decode: dict[str, list[float]] = {k: [] for k in paths}
    counts: dict[str, int] = {}
    for _ in range(args.runs):  # interleaved so drift hits all three alike
        for name, chunks in paths.items():
            pieces, total, dec = timed(chunks())  # greedy decoding: every path yields the same pieces
            counts[name] = pieces
            e2e[name].append(pieces / total)
            decode[name].append((pieces - 1) / dec)
    server.should_exit = True

    bandwidth = max(memory_bandwidth_gbs(1), memory_bandwidth_gbs(settings.llm_threads or 2))
    model_gb = spec.file_path(settings.model_dir).stat().st_size / 1e9
    bound = bandwidth / model_gb
    m = {k: (median(e2e[k]), median(decode[k])) for k in paths}
    figures = {
        "direct_tps": m["direct"][0], "gateway_tps": m["gateway"][0], "api_tps": m["api"][0],
        "direct_decode_tps": m["direct"][1], "gateway_decode_tps": m["gateway"][1], "api_decode_tps": m["api"][1],
        "gateway_ratio": m["gateway"][0] / m["direct"][0], "api_ratio": m["api"][0] / m["direct"][0],
        "gateway_decode_ratio": m["gateway"][1] / m["direct"][1], "api_decode_ratio": m["api"][1] / m["direct"][1],
        "mem_bandwidth_gbs": bandwidth, "model_gb": model_gb, "bandwidth_bound_tps": bound,
        "direct_decode_share_of_bound": m["direct"][1] / bound, "pieces_per_run": counts["direct"],
        "max_tokens": args.tokens, "runs": args.runs,
        "prompt_chars": len(prompt), **machine(),
    }
    d = m["direct"]
    print(table([
        ("direct llama-cpp-python", f"{d[0]:.2f}", f"{d[1]:.2f}", "1.000 / 1.000 (baseline)"),
        *[(label, f"{m[k][0]:.2f}", f"{m[k][1]:.2f}", f"{m[k][0] / d[0]:.3f} / {m[k][1] / d[1]:.3f}")
          for k, label in (("gateway", "rathaus gateway (in process)"), ("api", "rathaus HTTP API (SSE, loopback)"))],
        ("memory-bandwidth bound", "", f"{bound:.2f}", f"{bandwidth:.1f} GB/s / {model_gb:.3f} GB per token"),
    ], ("path", "tok/s end-to-end", "tok/s decode", "ratio e2e / decode")))
    print(f"\nwritten: {write_result('gateway_throughput', figures)}")
    runtime.close()


if __name__ == "__main__":
    main()
