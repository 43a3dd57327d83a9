"""The `openai` provider against a real OpenAI-compatible server (llama.cpp's server with the shipped model)."""

from __future__ import annotations

import pytest

from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import ModelUnavailable
from rathaus.models.catalog import ModelSpec
from rathaus.models.gateway import CallContext, ChatOutcome
from rathaus.models.providers.openai_compat import OpenAICompatibleChat, make_client
from rathaus.models.types import ChatMessage, ChatParams, StreamDelta
from rathaus.runtime import Runtime

CTX = dict(principal=Principal(id="svc", kind="service", department="IT"), use_case="test")
ASK = [ChatMessage("user", "Antworte nur mit: Ja")]


def test_remote_chat_is_metered_with_estimated_energy(runtime: Runtime, cloud_server: str) -> None:
    ctx = CallContext(data_class=DataClass.INTERN, **CTX)
    out = runtime.gateway.chat(ctx, ASK, model="cloud-chat", params=ChatParams(max_tokens=4, temperature=0))
    assert out.text.strip() and out.model == "cloud-chat"
    m = out.metrics
    assert m.energy_method == "estimated" and m.energy_wh > 0
    assert m.prompt_tokens > 10  # reported by the server, not estimated
    assert float(m.cost_eur) == pytest.approx((m.prompt_tokens * 150 + m.completion_tokens * 600) / 1e6)


def test_remote_stream(runtime: Runtime, cloud_server: str) -> None:
    ctx = CallContext(data_class=DataClass.OEFFENTLICH, **CTX)
    events = list(runtime.gateway.chat_stream(ctx, ASK, model="cloud-chat",
                                              params=ChatParams(max_tokens=4, temperature=0)).events())
    assert any(isinstance(e, StreamDelta) for e in events)
    assert isinstance(events[-1], ChatOutcome) and events[-1].metrics.completion_tokens >= 1


def test_unreachable_server_is_a_clear_503(runtime: Runtime) -> None:
    spec = runtime.catalog.get("cloud-chat").model_copy(update={"base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(ModelUnavailable, match=r"server http://127.0.0.1:9/v1 not reachable"):
        OpenAICompatibleChat(spec).chat(ASK, ChatParams(max_tokens=2))


def test_missing_api_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ModelSpec(name="x", kind="chat", provider="openai", base_url="https://x.example/v1",
                     api_key_env="NO_SUCH_KEY", parameters_b=1, data_classes=["oeffentlich"], hosting="eu-cloud",
                     location="EU")
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(ModelUnavailable, match="NO_SUCH_KEY with its API key is not set"):
        make_client(spec)


def test_azure_client_uses_deployment_api_version_and_key_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZ_KEY", "k-123")
    spec = ModelSpec(name="az", kind="chat", provider="openai", base_url="https://city.openai.azure.com",
                     api_key_env="AZ_KEY", azure={"api_version": "2024-10-21", "deployment": "gpt-4o-mini"},
                     parameters_b=8, data_classes=["oeffentlich", "intern"], hosting="eu-cloud", location="EU")
    client = make_client(spec)
    assert str(client.base_url) == "https://city.openai.azure.com/openai/deployments/gpt-4o-mini/"
    assert client.default_query == {"api-version": "2024-10-21"}
    assert client.auth_headers == {"api-key": "k-123"}
    assert OpenAICompatibleChat(spec).remote_name == "gpt-4o-mini"
