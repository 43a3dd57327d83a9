"""Which embedder a collection's vectors come from, and how its vectors fit the store.

Each collection records the embedding model it was indexed with (``kb_collections.embedding_model``); its
chunks are embedded, and questions to it are embedded, with that model – never with whatever the catalogue's
default is today, so changing the default does not silently break existing collections. A city may choose
another embedder per collection: ``multilingual-e5-small`` ranks colloquial questions against official FAQ
entries much better than the default USE (docs/benchmarks.md, "Colloquial questions"), but indexes ~30× slower,
so it suits small, quality-critical collections (a citizen FAQ) rather than large document sets.

The vector columns hold ``EMBEDDING_DIMENSIONS`` (512) numbers. A model with fewer dimensions is padded with
zeros: cosine similarity (what the search ranks by) is unchanged by zero padding, and one column and one HNSW
index serve every collection. A model with more dimensions is refused when the collection is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rathaus.core.errors import BadRequest
from rathaus.knowledge.schema import EMBEDDING_DIMENSIONS

if TYPE_CHECKING:
    from rathaus.runtime import Runtime


def embedder_of(runtime: Runtime, recorded: str | None) -> str:
    """The embedding model of a collection: the one it recorded, or the catalogue's default for old rows."""
    return recorded or runtime.catalog.defaults.embedding


def check_embedder(runtime: Runtime, name: str | None) -> str:
    """The embedder a new collection will use (``None``/empty: the default); BadRequest naming the problem when
    the model is unknown, disabled, not an embedding model or has too many dimensions."""
    name = (name or "").strip() or runtime.catalog.defaults.embedding
    spec = runtime.catalog.get(name)
    if spec is None:
        known = sorted(m.name for m in runtime.catalog.enabled("embedding"))
        raise BadRequest(f"no embedding model named {name!r} in the model catalogue (available: {', '.join(known)})")
    if spec.kind != "embedding":
        raise BadRequest(f"model {name!r} is a {spec.kind} model, not an embedding model")
    if not spec.enabled:
        raise BadRequest(f"embedding model {name!r} is disabled in the model catalogue")
    if spec.dimensions is not None and spec.dimensions > EMBEDDING_DIMENSIONS:
        raise BadRequest(f"embedding model {name!r} has {spec.dimensions} dimensions; the knowledge store holds "
                         f"at most {EMBEDDING_DIMENSIONS}")
    return name


def fitted(vectors: Sequence[Sequence[float]]) -> list[list[float]]:
    """Vectors padded with zeros to the store's dimension (cosine similarity is unchanged)."""
    out = []
    for v in vectors:
        v = list(v)
        if len(v) > EMBEDDING_DIMENSIONS:
            raise BadRequest(f"the embedder returned {len(v)} dimensions; the knowledge store holds at most "
                             f"{EMBEDDING_DIMENSIONS}")
        out.append(v + [0.0] * (EMBEDDING_DIMENSIONS - len(v)))
    return out


def summed_metrics(parts: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The metering of several embedding calls as one (tokens, time, €, Wh, gCO2e added up)."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    out: dict[str, Any] = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        if key == "energy_method":
            out[key] = "measured" if all(v == "measured" for v in values) else "estimated"
        else:
            out[key] = round(sum(values), 6)
    return out
