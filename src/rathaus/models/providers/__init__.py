"""Providers behind the gateway: ``embedded`` (in this process, or a llama-server child process on loopback)
and ``openai`` (any compatible server)."""

from __future__ import annotations

from rathaus.core.settings import Settings
from rathaus.models.catalog import ModelSpec
from rathaus.models.types import ChatProvider, EmbeddingProvider


def build_provider(spec: ModelSpec, settings: Settings) -> ChatProvider | EmbeddingProvider:
    """The provider for ``spec``: a :class:`ChatProvider` for chat models, an :class:`EmbeddingProvider` else."""
    if spec.provider == "openai":
        from rathaus.models.providers.openai_compat import OpenAICompatibleChat, OpenAICompatibleEmbedding

        return OpenAICompatibleChat(spec) if spec.kind == "chat" else OpenAICompatibleEmbedding(spec)
    if spec.kind == "chat" and (spec.engine or settings.embedded_engine) == "llama-server":
        from rathaus.models.providers.llama_server import LlamaServerChat

        return LlamaServerChat(spec, settings.model_dir, settings.llama_server_binary,
                               parallel=settings.llama_server_parallel, threads=settings.llm_threads)
    if spec.kind == "chat":
        from rathaus.models.providers.embedded_llama import EmbeddedLlamaChat

        return EmbeddedLlamaChat(spec, settings.model_dir, settings.llm_threads)
    from rathaus.models.providers.embedded_embedder import EmbeddedEmbedder

    return EmbeddedEmbedder(spec)
