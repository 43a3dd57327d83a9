"""Employee chat: time to first token and tokens/s in the web app vs the raw gateway, in one run.

Three paths with the same system prompt and question, interleaved run by run so drift hits all alike:

* ``gateway``: ``Gateway.chat_stream`` in process (the baseline: the model plus routing and metering),
* ``api``: the chat endpoint the web page uses (``POST /api/v1/chats/{id}/messages``, SSE over loopback),
  including loading and saving the history in PostgreSQL,
* ``browser``: Debian's Chromium with the chat page: from the click on "Senden" to the first text on
  screen, and to the footprint line (the answer saved and rendered as Markdown).

Time to first token (TTFT) includes prompt processing; tokens/s counts the answer's completion tokens
over the time from the first to the last piece. Each run starts a new chat, so the prompt is the same.

    .venv/bin/python bench/web_chat.py [--runs 5]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, percentile, table, write_result
from rathaus.assistants.conversation import SYSTEM_PROMPT
from rathaus.core.auth import local_principal
from rathaus.core.classification import DataClass
from rathaus.core.settings import Settings
from rathaus.models.gateway import CallContext, ChatOutcome
from rathaus.models.types import ChatMessage, ChatParams, StreamDelta
from rathaus.runtime import Runtime

QUESTION = "Erkläre in vier kurzen Sätzen, wofür ein Bürgerbüro zuständig ist."
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    settings = Settings(_env_file=None, data_dir=workdir, database_name="bench_" + uuid.uuid4().hex[:6])
    runtime = Runtime(settings)
    runtime.gateway.warm_up()
    ctx = CallContext(principal=local_principal(settings), data_class=DataClass.INTERN, use_case="bench")

    def gateway_run() -> tuple[float, float, int]:
        t0 = time.perf_counter()
        first = last = None
        tokens = 0
        messages = [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", QUESTION)]
        prepared = runtime.gateway.chat_stream(ctx, messages, params=ChatParams(temperature=0.3, top_p=0.9))
        for event in prepared.events():
            if isinstance(event, StreamDelta):
                last = time.perf_counter()
                first = first or last
            elif isinstance(event, ChatOutcome):
                tokens = event.metrics.completion_tokens
        assert first and last
        return first - t0, tokens / max(last - first, 1e-9), tokens

    import uvicorn

    from rathaus.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

    def api_run() -> tuple[float, float, int]:
        import json

        chat = httpx.post(base + "/api/v1/chats", json={"data_class": "intern"}).json()
        t0 = time.perf_counter()
        first = last = None
        tokens = 0
        body = {"content": QUESTION, "version": chat["version"], "stream": True}
        with httpx.stream("POST", f"{base}/api/v1/chats/{chat['id']}/messages", json=body, timeout=600) as resp:
            for line in resp.iter_lines():
                if line.startswith("event: delta"):
                    last = time.perf_counter()
                    first = first or last
                elif line.startswith("data: ") and '"type": "final"' in line:
                    tokens = json.loads(line[6:])["message"]["meta"]["metrics"]["completion_tokens"]
        assert first and last
        return first - t0, tokens / max(last - first, 1e-9), tokens

    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page()

    def browser_run() -> tuple[float, float, int]:
        page.goto(base + "/chat")
        page.fill("#prompt", QUESTION)
        t0 = time.perf_counter()
        page.click("#send")
        page.wait_for_function("document.querySelector('.msg.assistant .body')?.textContent.length > 0",
                               polling="raf", timeout=600_000)
        first = time.perf_counter()
        page.wait_for_function("document.querySelector('.msg.assistant .footprint')?.textContent.includes('Token')",
                               polling="raf", timeout=600_000)
        last = time.perf_counter()
        chat_id = page.url.rsplit("/", 1)[1]
        meta = httpx.get(f"{base}/api/v1/chats/{chat_id}").json()["messages"][-1]["meta"]
        tokens = meta["metrics"]["completion_tokens"]
        return first - t0, tokens / max(last - first, 1e-9), tokens

    paths = {"gateway": gateway_run, "api": api_run, "browser": browser_run}
    ttft: dict[str, list[float]] = {k: [] for k in paths}
    tps: dict[str, list[float]] = {k: [] for k in paths}
    tokens: dict[str, list[int]] = {k: [] for k in paths}
    for i in range(args.runs):
        for name, run in paths.items():
            a, b, n = run()
            ttft[name].append(a * 1000)
            tps[name].append(b)
            tokens[name].append(n)
            print(f"run {i + 1}/{args.runs} {name:8s} TTFT {a * 1000:7.0f} ms  {b:5.2f} tok/s  {n} tokens", flush=True)
    browser.close()
    pw.stop()
    server.should_exit = True

    figures: dict[str, float | int | str] = {"runs": args.runs, **machine()}
    for k in paths:
        figures[f"{k}_ttft_ms"] = median(ttft[k])
        figures[f"{k}_ttft_p95_ms"] = percentile(ttft[k], 0.95)
        figures[f"{k}_tps"] = median(tps[k])
        figures[f"{k}_tokens"] = median([float(x) for x in tokens[k]])
    for k in ("api", "browser"):
        figures[f"{k}_ttft_ratio"] = figures[f"{k}_ttft_ms"] / figures["gateway_ttft_ms"]  # type: ignore[operator]
        figures[f"{k}_tps_ratio"] = figures[f"{k}_tps"] / figures["gateway_tps"]  # type: ignore[operator]
    print()
    print(table([
        (label, f"{figures[f'{k}_ttft_ms']:.0f}", f"{figures[f'{k}_tps']:.2f}",
         "1.00 / 1.00 (baseline)" if k == "gateway"
         else f"{figures[f'{k}_ttft_ratio']:.2f} / {figures[f'{k}_tps_ratio']:.2f}")
        for k, label in (("gateway", "gateway (in process)"), ("api", "chat API (SSE + history in PostgreSQL)"),
                         ("browser", "web app in Chromium (click → screen)"))
    ], ("path", "TTFT median ms", "tok/s median", "ratio TTFT / tok/s")))
    print(f"\nwritten: {write_result('web_chat', figures)}")
    runtime.close()


if __name__ == "__main__":
    main()
