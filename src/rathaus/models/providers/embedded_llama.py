"""In-process generation with llama.cpp (llama-cpp-python) on a GGUF file.

One model instance per process, loaded on first use; calls are serialised by a lock because a
llama.cpp context is not thread-safe. The process CPU time spent during a call is returned so the
gateway can meter measured energy.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from rathaus.core.errors import ContextLengthExceeded, ModelUnavailable
from rathaus.models import assemble
from rathaus.models.catalog import ModelSpec
from rathaus.models.types import ChatMessage, ChatParams, ChatResult, StreamDelta, StreamEnd, StreamEvent

LOCK_TIMEOUT_S = 600.0


def _threads(configured: int | None) -> int:
    return configured or max(1, len(os.sched_getaffinity(0)))


class _Loaded:
    """A loaded model shared by every provider instance in this process that uses the same file."""

    def __init__(self) -> None:
        self.llm: Any = None
        self.formatter: Any = None
        self.lock = threading.Lock()


_LOADED: dict[tuple[str, int, int], _Loaded] = {}
_LOADED_LOCK = threading.Lock()


@atexit.register
def _close_all() -> None:
    """Free the models before interpreter teardown (llama-cpp's own __del__ fails that late)."""
    for loaded in _LOADED.values():
        if loaded.llm is not None:
            loaded.llm.close()
            loaded.llm = None


def _shared(path: Path | None, n_ctx: int, threads: int) -> _Loaded:
    key = (str(path), n_ctx, threads)
    with _LOADED_LOCK:
        return _LOADED.setdefault(key, _Loaded())


class EmbeddedLlamaChat:
    def __init__(self, spec: ModelSpec, model_dir: Path, threads: int | None = None):
        self.spec = spec
        self.path = spec.file_path(model_dir)
        self.threads = _threads(threads)
        self._shared = _shared(self.path, spec.context_length, self.threads)
        self._lock = self._shared.lock

    @property
    def _llm(self) -> Any:
        return self._shared.llm

    @property
    def _formatter(self) -> Any:
        return self._shared.formatter

    # --- loading -----------------------------------------------------------------------------------
    def _check_file(self) -> Path:
        path = self.path
        if path is None or not path.is_file():
            raise ModelUnavailable(f"model {self.spec.name!r}: file missing: {path}; run `rathaus models assemble`")
        if self.spec.sha256 and not assemble.is_verified(path, self.spec.sha256, self.spec.size_bytes):
            assemble.verify(path, self.spec.sha256, self.spec.size_bytes)
        return path

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        path = self._check_file()
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelUnavailable("llama-cpp-python is not installed (pip install 'rathaus[embedded]')") from exc
        try:
            llm = Llama(
                model_path=str(path), n_ctx=self.spec.context_length, n_threads=self.threads,
                n_threads_batch=self.threads, n_batch=512, verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelUnavailable(
                f"model {self.spec.name!r}: file {path} could not be loaded (corrupt?): {exc}"
            ) from exc
        self._shared.formatter = _chat_formatter(llm)
        self._shared.llm = llm
        return llm

    def warm_up(self) -> None:
        """Load the model now rather than on the first request."""
        self._acquire()
        try:
            self._load()
        finally:
            self._lock.release()

    def _acquire(self) -> None:
        if not self._lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise ModelUnavailable(f"model {self.spec.name!r} is busy; try again later")

    # --- tokens ------------------------------------------------------------------------------------
    def _prompt(self, messages: list[ChatMessage]) -> str | None:
        if self._formatter is None:
            return None
        prompt: str = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt
        return prompt

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        self._acquire()
        try:
            llm = self._load()
            prompt = self._prompt(messages)
            if prompt is None:
                text = "\n".join(f"{m.role}: {m.content}" for m in messages)
                return len(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)) + 8 * len(messages)
            return len(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        finally:
            self._lock.release()

    def _kwargs(self, messages: list[ChatMessage], params: ChatParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stop": params.stop or None,
        }
        if params.seed is not None:
            kwargs["seed"] = params.seed
        return kwargs

    # --- generation --------------------------------------------------------------------------------
    def chat(self, messages: list[ChatMessage], params: ChatParams) -> ChatResult:
        self._acquire()
        try:
            llm = self._load()
            cpu0 = time.process_time()
            try:
                out = llm.create_chat_completion(**self._kwargs(messages, params))
            except ValueError as exc:
                raise ContextLengthExceeded(f"model {self.spec.name!r}: {exc}") from exc
            cpu = time.process_time() - cpu0
        finally:
            self._lock.release()
        choice = out["choices"][0]
        return ChatResult(
            text=choice["message"].get("content") or "",
            prompt_tokens=out["usage"]["prompt_tokens"],
            completion_tokens=out["usage"]["completion_tokens"],
            finish_reason=choice.get("finish_reason") or "stop",
            cpu_seconds=cpu,
        )

    def chat_stream(self, messages: list[ChatMessage], params: ChatParams) -> Generator[StreamEvent, None, None]:
        self._acquire()
        stream = None
        try:
            llm = self._load()
            prompt_tokens = self._count_locked(llm, messages)
            cpu0 = time.process_time()
            try:
                stream = llm.create_chat_completion(**self._kwargs(messages, params), stream=True)
                parts: list[str] = []
                finish = "stop"
                for chunk in stream:
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        parts.append(text)
                        yield StreamDelta(text)
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            except ValueError as exc:
                raise ContextLengthExceeded(f"model {self.spec.name!r}: {exc}") from exc
            completion = "".join(parts)
            completion_tokens = len(llm.tokenize(completion.encode("utf-8"), add_bos=False, special=True))
            if finish == "length":
                completion_tokens = max(completion_tokens, params.max_tokens or 0)
            yield StreamEnd(prompt_tokens, completion_tokens, finish, time.process_time() - cpu0)
        finally:
            if stream is not None:
                stream.close()
            self._lock.release()

    def _count_locked(self, llm: Any, messages: list[ChatMessage]) -> int:
        prompt = self._prompt(messages)
        if prompt is None:
            return 0
        return len(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def check(self) -> str:
        t0 = time.perf_counter()
        result = self.chat([ChatMessage("user", "Antworte nur mit: OK")], ChatParams(max_tokens=4, temperature=0))
        return f"answered {result.text.strip()[:20]!r} in {time.perf_counter() - t0:.1f} s (incl. loading)"

    @property
    def loaded(self) -> bool:
        return self._llm is not None


def _chat_formatter(llm: Any) -> Any:
    """The GGUF's own chat template, so prompt tokens can be counted exactly before a call."""
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos, bos = llm.token_eos(), llm.token_bos()
    eos_text = llm._model.token_get_text(eos) if eos != -1 else ""
    bos_text = llm._model.token_get_text(bos) if bos != -1 else ""
    return Jinja2ChatFormatter(template=template, eos_token=eos_text, bos_token=bos_text)
