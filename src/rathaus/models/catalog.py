"""The model catalogue: which models exist, where they run, what they cost and which data they may see.

Read from a YAML file (``RATHAUS_MODELS_FILE``, default: the file shipped in ``rathaus/config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rathaus.core.classification import DataClass
from rathaus.core.errors import ConfigError
from rathaus.core.yaml_text import load_yaml

#: engines of an embedded chat model (``engine:``; unset: the setting RATHAUS_EMBEDDED_ENGINE)
CHAT_ENGINES = ("llama-cpp-python", "llama-server")


class AzureOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_version: str = Field(min_length=1)
    deployment: str = Field(min_length=1)


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    kind: Literal["chat", "embedding"]
    provider: Literal["embedded", "openai"]
    enabled: bool = True
    description: str = ""

    # embedded provider
    file: str | None = Field(default=None, description="GGUF file, relative to the model cache dir.")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    size_bytes: int | None = Field(default=None, gt=0)
    engine: str | None = Field(
        default=None, description="Engine of the embedded provider: for an embedding model its embedder; for a chat "
                                  "model llama-cpp-python (in this process) or llama-server (a supervised child "
                                  "process that batches parallel calls); unset: RATHAUS_EMBEDDED_ENGINE.")

    # openai provider
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, description="Environment variable holding the key.")
    remote_model: str | None = Field(default=None, description="Model name the server expects.")
    azure: AzureOptions | None = None
    timeout_seconds: float = Field(default=120.0, gt=0, le=3600)

    # fair use of a scarce chat model (rathaus.models.admission)
    max_concurrency: int | None = Field(
        default=None, ge=1, le=1024,
        description="Chat calls at once; default 1 for an embedded model (one llama.cpp instance), 16 for a server.")
    max_queue: int = Field(default=16, ge=0, le=100_000,
                           description="Chat calls that may wait for a slot; more get 429 with Retry-After.")
    queue_timeout_seconds: float = Field(default=30.0, gt=0, le=600,
                                         description="Longest wait for a slot before 429 with Retry-After.")

    # failover (rathaus.models.breaker)
    fallbacks: list[str] = Field(
        default_factory=list,
        description="Models of the same kind to try, in this order, when this one fails or its breaker is open; "
                    "only those cleared for the request's data class are ever used.")
    vector_space: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="Embedding models: the name of their vector space (the same weights, e.g. 'multilingual-e5-"
                    "small'); embeddings fail over only between models of one vector space and dimension. "
                    "Default: the model's own name (no failover).")

    # facts used by routing and metering
    context_length: int = Field(default=4096, ge=16, le=2_000_000)
    max_output_tokens: int = Field(default=1024, ge=1, le=200_000)
    dimensions: int | None = Field(default=None, ge=1, le=16384)
    price_in_per_1m_eur: float = Field(default=0.0, ge=0)
    price_out_per_1m_eur: float = Field(default=0.0, ge=0)
    parameters_b: float = Field(gt=0, le=10_000, description="Total parameters in billions.")
    active_parameters_b: float | None = Field(default=None, gt=0, le=10_000)
    data_classes: list[DataClass] = Field(min_length=1)
    hosting: Literal["on-premises", "city-data-centre", "eu-cloud", "non-eu-cloud"]
    location: str = Field(min_length=1)
    pue: float | None = Field(default=None, ge=1.0, le=3.0)
    grid_gco2_per_kwh: float | None = Field(default=None, gt=0)
    version: str | None = None

    @field_validator("data_classes", mode="before")
    @classmethod
    def _parse_classes(cls, value: object) -> object:
        if isinstance(value, list):
            return [DataClass.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @property
    def concurrency(self) -> int:
        """Chat calls at once: as configured, else 1 in-process (llama.cpp answers one at a time), else 16.
        The gateway gives an embedded model run by llama-server its parallel slots instead (see Gateway._admit)."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        return 1 if self.provider == "embedded" else 16

    @model_validator(mode="after")
    def _provider_fields(self) -> ModelSpec:
        if self.provider == "embedded" and self.kind == "chat" and not self.file:
            raise ValueError("an embedded chat model needs 'file' (a GGUF file)")
        if self.provider == "embedded" and self.kind == "chat" and self.engine not in (None, *CHAT_ENGINES):
            raise ValueError(f"an embedded chat model's engine is one of {', '.join(CHAT_ENGINES)}, "
                             f"not {self.engine!r}")
        if self.provider == "embedded" and self.kind == "embedding" and not self.engine:
            raise ValueError("an embedded embedding model needs 'engine'")
        if self.provider == "openai" and not self.base_url:
            raise ValueError("an openai-provider model needs 'base_url'")
        if self.kind == "embedding" and not self.dimensions:
            raise ValueError("an embedding model needs 'dimensions'")
        if self.hosting == "non-eu-cloud" and DataClass.PERSONENBEZOGEN in self.data_classes:
            raise ValueError("a model hosted outside the EU may not receive 'personenbezogen' data")
        return self

    @property
    def space(self) -> str:
        """The vector space of an embedding model: embeddings of two models are comparable only when it is equal."""
        return f"{self.vector_space or self.name}/{self.dimensions}"

    def allows(self, data_class: DataClass) -> bool:
        return data_class in self.data_classes

    @property
    def active_params(self) -> float:
        return self.active_parameters_b or self.parameters_b

    def file_path(self, model_dir: Path) -> Path | None:
        if not self.file:
            return None
        path = Path(self.file).expanduser()
        return path if path.is_absolute() else model_dir / path


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chat: str
    embedding: str


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: Defaults
    models: list[ModelSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique, repeated: {', '.join(dupes)}")
        for kind in ("chat", "embedding"):
            default = getattr(self.defaults, kind)
            spec = self.get(default)
            if spec is None:
                raise ValueError(f"default {kind} model {default!r} is not defined")
            if spec.kind != kind:
                raise ValueError(f"default {kind} model {default!r} is a {spec.kind} model")
            if not spec.enabled:
                raise ValueError(f"default {kind} model {default!r} is disabled")
        for model in self.models:
            for name in model.fallbacks:
                other = self.get(name)
                if other is None:
                    raise ValueError(f"model {model.name!r}: fallback {name!r} is not defined")
                if other is model:
                    raise ValueError(f"model {model.name!r}: a model cannot be its own fallback")
                if other.kind != model.kind:
                    raise ValueError(f"model {model.name!r}: fallback {name!r} is a {other.kind} model, "
                                     f"not a {model.kind} model")
                if model.kind == "embedding" and other.space != model.space:
                    raise ValueError(
                        f"model {model.name!r}: fallback {name!r} has other vectors ({other.space} instead of "
                        f"{model.space}); embeddings may only fail over within one vector space – set the same "
                        "'vector_space' and 'dimensions' on models that serve the same weights")
        return self

    def get(self, name: str) -> ModelSpec | None:
        return next((m for m in self.models if m.name == name), None)

    def enabled(self, kind: str | None = None) -> list[ModelSpec]:
        return [m for m in self.models if m.enabled and (kind is None or m.kind == kind)]


def format_validation_error(source: str, exc: ValidationError, raw: dict[str, Any] | None = None) -> list[str]:
    """One readable line per problem, naming the model where possible."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int) and raw:
            try:
                name = raw["models"][loc[1]].get("name")
                where = f"model {name!r}" + ("." + ".".join(str(p) for p in loc[2:]) if loc[2:] else "")
            except (AttributeError, IndexError, KeyError, TypeError):
                pass
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")
    return lines


def load_catalog(path: Path) -> Catalog:
    """Read and validate the models file; ConfigError lists every problem, one per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"models file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"models file unreadable: {path}: {exc}") from None
    raw = load_yaml(text, path.name, ConfigError)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping with 'defaults' and 'models'")
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        lines = format_validation_error(path.name, exc, raw)
        raise ConfigError("\n".join(lines), extra={"problems": lines}) from None
