"""The routing model of the running platform: trained from the stored examples (imported past requests and case
workers' corrections), kept as files (no pickle, signed), reloaded when a newer one appears.

Embeddings come through the platform's gateway (metered, data class checked) with the model the routing model
was trained with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.files import atomic_write, make_dirs
from rathaus.inbox.routing import RoutingModel, TrainingRow, train
from rathaus.inbox.schema import InboxCorrection, InboxExample
from rathaus.inbox.settings import InboxSettings
from rathaus.models.gateway import CallContext

if TYPE_CHECKING:
    from rathaus.inbox.taxonomy import Taxonomy
    from rathaus.runtime import Runtime

log = logging.getLogger(__name__)
POINTER = "current.json"
KEEP_MODELS = 3
MIN_EXAMPLES = 10
_lock = threading.Lock()
_loaded: dict[str, tuple[str, RoutingModel]] = {}  # models dir → (model id, model)


def models_dir(runtime: Runtime) -> Path:
    configured = runtime.settings.section(InboxSettings).inbox_models_dir
    if configured:
        return Path(configured)
    base = Path(runtime.settings.data_dir) / "inbox" / "models"
    return base / runtime.settings.database_name if runtime.settings.embedded_database else base


def signing_key(runtime: Runtime) -> bytes | None:
    """A key of its own for model files, derived from the platform's secret key (None without one)."""
    key = runtime.gateway.audit_key
    return hmac.new(key, b"rathaus.inbox.routing-model", hashlib.sha256).digest() if key else None


def service_principal(runtime: Runtime, department: str | None = None) -> Principal:
    return Principal(id="inbox-router", kind="service", department=department or runtime.settings.local_department)


def embedder(runtime: Runtime, model: str | None = None,
             data_class: DataClass = DataClass.PERSONENBEZOGEN) -> Callable[[list[str]], np.ndarray]:
    """Texts → vectors through the gateway (model cleared for ``data_class``, usage metered under "inbox").
    ``model`` may join several embedding models with ``+`` (``multilingual-use+multilingual-e5-small``): each
    model's vectors, scaled to length 1, side by side (the routing model's "views")."""
    names: list[str | None] = [n for n in (model or "").split("+") if n] or [None]

    def one(name: str | None, texts: list[str]) -> np.ndarray:
        ctx = CallContext(principal=service_principal(runtime), data_class=data_class, use_case="inbox:routing")
        # "query": e5's prefix for symmetric tasks such as classification and similarity (its model card); USE
        # has no prefixes
        out = np.asarray(runtime.gateway.embed(ctx, [t[:4000] for t in texts], model=name, purpose="query").vectors,
                         dtype=np.float64)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0) if len(names) > 1 else out

    def embed(texts: list[str]) -> np.ndarray:
        return np.hstack([one(name, texts) for name in names])
    return embed


def routing_embedders(runtime: Runtime) -> tuple[str, list[int] | None]:
    """The embedding model(s) a new routing model is trained with (``+``-joined) and the dimensions of each when
    there are several: the configured ones that are enabled in the catalogue, else the default embedder."""
    wanted = runtime.settings.section(InboxSettings).inbox_routing_embedders
    enabled = {m.name: m for m in runtime.catalog.enabled("embedding")}
    usable = [enabled[n] for n in wanted if n in enabled]
    if len(usable) < len(wanted):
        log.info("routing embedders not enabled in the catalogue, left out: %s",
                 ", ".join(n for n in wanted if n not in enabled))
    if len(usable) < 2:
        return (usable[0].name if usable else runtime.catalog.defaults.embedding), None
    return "+".join(m.name for m in usable), [int(m.dimensions or 0) for m in usable]


def duplicate_vector(model: RoutingModel | None, vector: np.ndarray) -> np.ndarray:
    """The part of a routing vector the duplicate index compares: the first embedder's (its thresholds were
    measured with the default embedder, see ``duplicates``)."""
    views = (model.info.get("embedding_views") if model else None) or None
    return vector[: int(views[0])] if views else vector


def examples(runtime: Runtime) -> list[TrainingRow]:
    with runtime.db.session() as session:
        rows = session.execute(sa.select(InboxExample.text, InboxExample.category, InboxExample.relevant,
                                         InboxExample.urgency, InboxExample.weight)).all()
    return [TrainingRow(text=t, category=c, relevant=r, urgency=u, weight=w) for t, c, r, u, w in rows]


def store_examples(runtime: Runtime, rows: list[TrainingRow], source: str) -> int:
    """Keep imported past requests as training examples (replacing an earlier import of the same source)."""
    with runtime.db.session() as session:
        session.execute(sa.delete(InboxExample).where(InboxExample.source == source))
        session.add_all(InboxExample(text=r.text, category=r.category, relevant=r.relevant is not False,
                                     urgency=r.urgency, weight=r.weight, source=source) for r in rows)
    return len(rows)


def train_current(runtime: Runtime, taxonomy: Taxonomy,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train on every stored example and make the result the current model; its report."""
    rows = examples(runtime)
    if len(rows) < MIN_EXAMPLES:
        from rathaus.core.errors import Conflict

        raise Conflict(f"zu wenige Trainingsbeispiele ({len(rows)}, mindestens {MIN_EXAMPLES}) / too few examples: "
                       "import past requests with 'rathaus inbox train FILE'")
    embedding_model, views = routing_embedders(runtime)
    if progress:
        progress(f"training on {len(rows)} examples with {embedding_model}")
    started = dt.datetime.now(dt.UTC)
    model = train(rows, embedder(runtime, embedding_model), taxonomy, embedding_model=embedding_model,
                  embedding_views=views)
    model_id = started.strftime("%Y%m%dT%H%M%S%fZ")
    folder = models_dir(runtime)
    make_dirs(folder)
    model.save(folder / f"{model_id}.zip", signing_key(runtime))  # atomic: a full disk leaves no half model
    atomic_write(folder / POINTER, json.dumps({"model_id": model_id, "trained_at": started.isoformat(),
                                               "examples": len(rows)}))
    for old in sorted(folder.glob("*.zip"))[:-KEEP_MODELS]:
        old.unlink(missing_ok=True)
    info = {k: v for k, v in model.info.items() if isinstance(v, str | int | float | bool | list | dict)}
    return {"model_id": model_id, "examples": len(rows), "info": info}


def current_info(runtime: Runtime) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((models_dir(runtime) / POINTER).read_text())
        return data
    except (OSError, ValueError):
        return None


def current_model(runtime: Runtime) -> RoutingModel | None:
    """The current routing model (loaded once per process and model id), None before the first training."""
    info = current_info(runtime)
    if info is None:
        return None
    folder = models_dir(runtime)
    key = str(folder)
    with _lock:
        cached = _loaded.get(key)
        if cached and cached[0] == info["model_id"]:
            return cached[1]
        model = RoutingModel.load(folder / f"{info['model_id']}.zip", key=signing_key(runtime))
        model.embed = embedder(runtime, model.info.get("embedding_model"))
        _loaded[key] = (info["model_id"], model)
        return model


#: corrections that teach routing (the data takeover's corrected fields are stored as "takeover:<field>")
ROUTING_FIELDS = ("department", "category", "urgency", "relevant")


def corrections_since_training(runtime: Runtime) -> int:
    info = current_info(runtime)
    since = dt.datetime.fromisoformat(info["trained_at"]) if info else None
    with runtime.db.session() as session:
        query = sa.select(sa.func.count()).select_from(InboxCorrection).where(
            InboxCorrection.field.in_(ROUTING_FIELDS))  # not the data takeover's field corrections
        if since is not None:
            query = query.where(InboxCorrection.at > since)
        return session.scalar(query) or 0


def forget(runtime: Runtime) -> None:
    """Drop the stored models (tests, a city starting over)."""
    shutil.rmtree(models_dir(runtime), ignore_errors=True)
    _loaded.pop(str(models_dir(runtime)), None)
