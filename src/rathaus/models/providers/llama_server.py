"""An embedded chat model run by llama.cpp's own server (``llama-server``) in a supervised child process.

llama-server decodes the calls of its parallel slots together (continuous batching), so four chats at once share
each pass over the weights instead of queueing behind one another (docs/decisions/0007-batching-engine.md). The
binary is built from the source vendored in llama-cpp-python by ``scripts/install.sh --llama-server`` and cached
in ``$RATHAUS_CACHE_DIR/bin``; nothing is downloaded at run time.

The child listens on loopback on a free port (no API key: only this machine can reach it). A supervisor thread
starts it on first use, restarts it when it dies (with a log line and a back-off) and stops it when this process
exits; the child also gets SIGTERM when this process dies without cleaning up (``PR_SET_PDEATHSIG``, set from the
supervisor thread, which lives as long as the process). Calls go through the OpenAI-compatible provider; prompt
tokens are counted by the server's own chat template and tokenizer; the child's CPU time is shared out among the
calls running at once, so the energy of every call stays measured.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx

from rathaus.core.errors import ModelUnavailable
from rathaus.models import assemble
from rathaus.models.catalog import ModelSpec
from rathaus.models.providers.openai_compat import OpenAICompatibleChat
from rathaus.models.types import ChatMessage, ChatParams, ChatResult, StreamEnd, StreamEvent

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0
#: seconds to wait before restarting a server that died or failed to start, by consecutive failures
BACKOFF_S = (0.5, 2.0, 5.0, 15.0, 30.0)
#: a server that failed to start this many times in a row is left stopped until the next call asks for it
MAX_FAILED_STARTS = 3
LOG_LINES = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuShare:
    """Shares a process's CPU time among the calls running at once: between two events (a call begins or
    ends) each running call is charged an equal part of the CPU time spent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._last = 0.0
        self._charged: dict[int, float] = {}
        self._next = 0

    def _advance(self) -> None:
        now = _cpu_seconds(self._pid) if self._pid is not None else None
        if now is None:
            return
        if self._charged and now > self._last:
            part = (now - self._last) / len(self._charged)
            for ticket in self._charged:
                self._charged[ticket] += part
        self._last = now

    def attach(self, pid: int) -> None:
        with self._lock:
            self._pid, self._last = pid, _cpu_seconds(pid) or 0.0

    def begin(self) -> int:
        with self._lock:
            self._advance()
            self._next += 1
            self._charged[self._next] = 0.0
            return self._next

    def end(self, ticket: int) -> float:
        with self._lock:
            self._advance()
            return self._charged.pop(ticket, 0.0)


class LlamaServer:
    """One supervised llama-server process for one GGUF file."""

    def __init__(self, binary: Path, model: Path, *, alias: str, ctx_per_slot: int, parallel: int, threads: int,
                 log_path: Path | None = None):
        self.binary, self.model, self.alias = binary, model, alias
        self.ctx_per_slot, self.parallel, self.threads = ctx_per_slot, parallel, threads
        self.log_path = log_path
        self.cpu = CpuShare()
        self.restarts = 0
        self._cond = threading.Condition()
        self._state = "stopped"  # stopped → starting → ready (→ starting again when it dies) | failed
        self._error = ""
        self._base_url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._tail: deque[str] = deque(maxlen=LOG_LINES)

    # --- what callers use ----------------------------------------------------------------------------
    def ensure(self, timeout: float = START_TIMEOUT_S) -> str:
        """The base URL of the running server, started (or waited for while it restarts) when needed."""
        with self._cond:
            if self._closing:
                raise ModelUnavailable(f"model {self.alias!r}: llama-server is shutting down")
            if self._thread is None or not self._thread.is_alive():
                self._state = "starting"
                self._thread = threading.Thread(target=self._supervise, name=f"llama-server {self.alias}",
                                                daemon=True)
                self._thread.start()
            self._cond.wait_for(lambda: self._state in ("ready", "failed") or self._closing, timeout)
            if self._state == "ready" and self._base_url:
                return self._base_url
            if self._state == "failed":
                raise ModelUnavailable(self._error)
            raise ModelUnavailable(f"model {self.alias!r}: llama-server did not become ready within {timeout:g} s")

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def ready(self) -> bool:
        return self._state == "ready"

    def close(self) -> None:
        with self._cond:
            self._closing = True
            proc = self._proc
            self._cond.notify_all()
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    # --- the supervisor thread -------------------------------------------------------------------------
    def _command(self, port: int) -> list[str]:
        return [
            str(self.binary), "--model", str(self.model), "--alias", self.alias,
            "--host", "127.0.0.1", "--port", str(port),
            "--parallel", str(self.parallel), "--cont-batching", "--no-kv-unified",
            "--ctx-size", str(self.ctx_per_slot * self.parallel),
            "--threads", str(self.threads), "--threads-batch", str(self.threads),
            "--no-webui",
        ]

    def _set(self, state: str, *, error: str = "", base_url: str | None = None) -> None:
        with self._cond:
            self._state, self._error, self._base_url = state, error, base_url
            self._cond.notify_all()

    def _supervise(self) -> None:
        failures = 0
        while not self._closing:
            try:
                proc, base_url = self._spawn()
            except ModelUnavailable as exc:
                failures += 1
                self._set("failed", error=str(exc))
                log.error("%s", exc)
                if failures >= MAX_FAILED_STARTS:
                    return  # the next call starts a new supervisor
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, BACKOFF_S[min(failures, len(BACKOFF_S)) - 1])
                continue
            failures = 0
            self._set("ready", base_url=base_url)
            code = proc.wait()
            if self._closing:
                self._set("stopped")
                return
            self.restarts += 1
            self._set("starting")
            log.warning("llama-server for model %r (pid %d) exited with %s; restarting it (restart %d). "
                        "Last output: %s", self.alias, proc.pid, code, self.restarts, " | ".join(list(self._tail)[-5:]))
            with self._cond:
                self._cond.wait_for(lambda: self._closing, BACKOFF_S[0])

    def _spawn(self) -> tuple[subprocess.Popen[bytes], str]:
        if not self.binary.is_file() or not os.access(self.binary, os.X_OK):
            raise ModelUnavailable(
                f"model {self.alias!r}: llama-server not found at {self.binary}; build it with "
                "`scripts/install.sh --llama-server` or set RATHAUS_EMBEDDED_ENGINE=llama-cpp-python")
        port = _free_port()
        proc = subprocess.Popen(  # noqa: S603 – the configured binary, an argument list, no shell
            self._command(port), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        with self._cond:
            self._proc = proc
        self._tail.clear()
        threading.Thread(target=self._drain, args=(proc,), daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and not self._closing:
            if proc.poll() is not None:
                raise ModelUnavailable(f"model {self.alias!r}: llama-server exited with {proc.returncode} while "
                                       f"starting: {' | '.join(list(self._tail)[-5:])}")
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    self.cpu.attach(proc.pid)
                    log.info("llama-server for model %r ready on %s (pid %d, %d slots, %d threads)",
                             self.alias, base, proc.pid, self.parallel, self.threads)
                    return proc, base
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        proc.kill()
        proc.wait(5)
        raise ModelUnavailable(f"model {self.alias!r}: llama-server did not become ready within {START_TIMEOUT_S:g} s")

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep the child's last output lines (for error messages) and, when configured, write them to a log."""
        assert proc.stdout is not None
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(self.log_path.open("ab")) if self.log_path else None
            for line in proc.stdout:
                self._tail.append(line.decode("utf-8", "replace").rstrip())
                if out is not None:
                    out.write(line)
                    out.flush()


_SERVERS: dict[tuple[str, str, int, int, int], LlamaServer] = {}
_SERVERS_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    for server in list(_SERVERS.values()):
        server.close()


def shared_server(binary: Path, model: Path, *, alias: str, ctx_per_slot: int, parallel: int, threads: int,
                  log_path: Path | None = None) -> LlamaServer:
    """The one server of this process for this binary, file and shape (every gateway of the process shares it)."""
    key = (str(binary), str(model), ctx_per_slot, parallel, threads)
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is None or server._closing:
            server = _SERVERS[key] = LlamaServer(binary, model, alias=alias, ctx_per_slot=ctx_per_slot,
                                                 parallel=parallel, threads=threads, log_path=log_path)
        return server


class LlamaServerChat:
    """Chat provider for an embedded model with ``engine: llama-server``."""

    def __init__(self, spec: ModelSpec, model_dir: Path, binary: Path, *, parallel: int, threads: int | None = None,
                 log_path: Path | None = None):
        self.spec = spec
        self.path = spec.file_path(model_dir)
        #: parallel slots of the server = the model's admission slots (Gateway._admit)
        self.slots = spec.max_concurrency or parallel
        self.server = shared_server(binary, self.path or Path(), alias=spec.name, ctx_per_slot=spec.context_length,
                                    parallel=self.slots, threads=threads or max(1, len(os.sched_getaffinity(0))),
                                    log_path=log_path)
        self._remote: OpenAICompatibleChat | None = None
        self._verified = False

    def _url(self) -> str:
        if not self._verified:
            path = self.path
            if path is None or not path.is_file():
                raise ModelUnavailable(f"model {self.spec.name!r}: file missing: {path}; run `rathaus models assemble`")
            if self.spec.sha256 and not assemble.is_verified(path, self.spec.sha256, self.spec.size_bytes):
                assemble.verify(path, self.spec.sha256, self.spec.size_bytes)
            self._verified = True
        return self.server.ensure()

    def _client(self) -> OpenAICompatibleChat:
        base = self._url() + "/v1"
        remote = self._remote
        if remote is None or remote.spec.base_url != base:  # first call, or the server restarted on a new port
            remote = self._remote = OpenAICompatibleChat(self.spec.model_copy(update={
                "provider": "openai", "base_url": base, "remote_model": self.spec.name, "api_key_env": None}))
        return remote

    def warm_up(self) -> None:
        self._url()

    @property
    def loaded(self) -> bool:
        return self.server.ready

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        """Exactly as the server will: its chat template, then its tokenizer (an estimate if that fails)."""
        base = self._url()
        try:
            with httpx.Client(base_url=base, timeout=30) as http:
                prompt = http.post("/apply-template", json={
                    "messages": [{"role": m.role, "content": m.content} for m in messages]}).raise_for_status()
                tokens = http.post("/tokenize", json={"content": prompt.json()["prompt"], "add_special": False,
                                                      "parse_special": True}).raise_for_status()
            return len(tokens.json()["tokens"])
        except (httpx.HTTPError, KeyError, ValueError):
            return self._client().count_tokens(messages)

    def chat(self, messages: list[ChatMessage], params: ChatParams) -> ChatResult:
        remote = self._client()
        ticket = self.server.cpu.begin()
        try:
            result = remote.chat(messages, params)
        finally:
            cpu = self.server.cpu.end(ticket)
        result.cpu_seconds = cpu
        return result

    def chat_stream(self, messages: list[ChatMessage], params: ChatParams) -> Generator[StreamEvent, None, None]:
        remote = self._client()
        ticket = self.server.cpu.begin()
        ended = False
        try:
            for event in remote.chat_stream(messages, params):
                if isinstance(event, StreamEnd):
                    ended = True
                    event.cpu_seconds = self.server.cpu.end(ticket)
                yield event
        finally:
            if not ended:
                self.server.cpu.end(ticket)

    def check(self) -> str:
        t0 = time.perf_counter()
        result = self.chat([ChatMessage("user", "Antworte nur mit: OK")], ChatParams(max_tokens=4, temperature=0))
        return (f"answered {result.text.strip()[:20]!r} in {time.perf_counter() - t0:.1f} s (llama-server, "
                f"{self.slots} slots, incl. starting)")

    def status(self) -> dict[str, Any]:
        return {"engine": "llama-server", "slots": self.slots, "pid": self.server.pid, "ready": self.server.ready,
                "restarts": self.server.restarts}
