"""Training the library's recommendation model from the database, saving it, and loading the current one.

``train(runtime)`` reads the stored loans (opted-out readers are already excluded by ``load_loans``) and the whole
catalogue, builds the readers × items matrix over ALL catalogue items (items without loans are cold items), item
content vectors from the platform embedder over "title — authors — subjects — description" (TF-IDF over the
metadata when the embedder is unavailable; the report says which), fits the :class:`~rathaus.library.blend.Blend`
and saves it under ``models_dir(settings)/<timestamp>`` (``serving.save``: JSON + npz, no pickle) together with
``items.json`` (id, title, authors, media type, language, age group, text of every column) and, with the
embedder, ``vectors.npy``. ``current.json`` in the models folder names the current model; the last
:data:`KEEP` models are kept.

The saved model holds item-level arrays only (EASE's B, similarities, popularity): no reader id and no
pseudonym. A reader's recommendations are computed from their *current* loans read at request time, so an
opt-out takes effect immediately and the next retrain drops their loans from the item statistics too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import Conflict
from rathaus.core.files import atomic_write, make_dirs, storage_error
from rathaus.library import serving
from rathaus.library.blend import L2_GRID, Blend
from rathaus.library.content import ContentSimilarity, ItemContent
from rathaus.library.interactions import Interactions
from rathaus.library.schema import LibraryItem
from rathaus.library.settings import LibrarySettings
from rathaus.library.store import load_loans

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rathaus.core.settings import Settings
    from rathaus.runtime import Runtime

log = logging.getLogger(__name__)

KEEP = 3
EMBED_BATCH = 64
MIN_TUNING_READERS = 20  # fewer readers with ≥ 2 loans: fixed weights instead of tuning on noise
FALLBACK_WEIGHTS = {"ease": 0.6, "itemknn": 0.2, "content": 0.1, "popularity": 0.1}
FALLBACK_L2 = 100.0
POINTER = "current.json"
Progress = Callable[[str, int, int], None]
NOT_TRAINED = ("noch kein Empfehlungsmodell trainiert / no recommendation model trained yet: run "
               "'rathaus library train' or POST /api/v1/library/train")


def models_dir(settings: Settings) -> Path:
    """``library_models_dir``, else ``data_dir/library/models/<database_name>`` (embedded default: one folder per
    database of the embedded server, so a model never answers for another database's catalogue)."""
    configured = settings.section(LibrarySettings).library_models_dir
    if configured:
        return Path(configured)
    base = Path(settings.data_dir) / "library" / "models"
    return base / settings.database_name if settings.embedded_database else base


def service_principal(settings: Settings) -> Principal:
    """Who the model calls the embedder as (metering and audit): the library service, no roles."""
    return Principal(id="library-recommender", kind="local", department=settings.local_department,
                     roles=frozenset(), name="Bibliotheksempfehlungen / library recommendations")


@dataclass
class TrainReport:
    model_id: str
    path: str
    items: int
    readers: int
    loans: int
    cold_items: int
    weights: dict[str, float]
    ease_l2: float | None
    tuned: bool
    content: str  # "embedder:<model>" or "metadata TF-IDF (<why>)"
    embed_seconds: float = 0.0
    seconds: float = 0.0
    trained_at: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_line(self) -> str:
        weights = ", ".join(f"{k} {v:.1f}" for k, v in self.weights.items())
        return (f"Modell / model {self.model_id}: {self.items} Medien/items ({self.cold_items} ohne Ausleihe/cold), "
                f"{self.readers} Leser/readers, {self.loans} Ausleihen/loans; Gewichte/weights {weights}; "
                f"Inhalt/content {self.content}; {self.seconds:.1f} s")


def item_text(title: str, authors: list[str], subjects: list[str], description: str | None) -> str:
    return " — ".join(p for p in (title, "; ".join(authors), "; ".join(subjects), description or "") if p)


def _catalogue(runtime: Runtime) -> list[dict[str, Any]]:
    stmt = sa.select(LibraryItem.id, LibraryItem.title, LibraryItem.authors, LibraryItem.subjects,
                     LibraryItem.description, LibraryItem.media_type, LibraryItem.language,
                     LibraryItem.age_group).order_by(LibraryItem.id)
    with runtime.db.session() as session:
        return [{"id": r.id, "title": r.title, "authors": list(r.authors or []), "subjects": list(r.subjects or []),
                 "description": r.description, "media_type": r.media_type, "language": r.language,
                 "age_group": r.age_group} for r in session.execute(stmt)]


def embed_texts(runtime: Runtime, texts: list[str], purpose: str = "passage",
                progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, str]:
    """Vectors of ``texts`` from the platform's default embedder, in batches; raises when it is unavailable."""
    from rathaus.models.gateway import CallContext

    ctx = CallContext(principal=service_principal(runtime.settings), data_class=DataClass.INTERN,
                      use_case="library")
    parts, model = [], ""
    for start in range(0, len(texts), EMBED_BATCH):
        outcome = runtime.gateway.embed(ctx, texts[start:start + EMBED_BATCH], purpose=purpose)  # type: ignore[arg-type]
        parts.append(np.asarray(outcome.vectors, dtype=np.float32))
        model = outcome.model
        if progress is not None:
            progress(min(start + EMBED_BATCH, len(texts)))
    return np.vstack(parts), model


def train(runtime: Runtime, progress: Progress | None = None, embed: bool = True) -> TrainReport:
    """Train on the stored loans and catalogue, save, make it the current model; see the module docstring.
    Raises ``Conflict`` (409) when there is no catalogue or no loan."""
    t0 = time.perf_counter()
    step = progress or (lambda _label, _done, _total: None)
    items = _catalogue(runtime)
    if len(items) < 2:
        raise Conflict("Katalog leer / the catalogue is empty: import it first (rathaus library import … "
                       "--kind catalogue)")
    loans = load_loans(runtime.db)
    if not loans:
        raise Conflict("keine Ausleihen gespeichert / no loans stored: import loans first (--kind loans)")
    ids = [i["id"] for i in items]
    interactions = Interactions.from_pairs(((r, item) for r, item, _ in loans), items=ids)
    texts = [item_text(i["title"], i["authors"], i["subjects"], i["description"]) for i in items]
    notes: list[str] = []
    vectors, content_kind, embed_s = None, "metadata TF-IDF (embedder not used)", 0.0
    if embed:
        step("Einbettungen / embeddings", 0, len(texts))
        t_embed = time.perf_counter()
        try:
            vectors, model_name = embed_texts(runtime, texts, progress=lambda done: step(
                "Einbettungen / embeddings", done, len(texts)))
            content_kind = f"embedder:{model_name}"
        except Exception as exc:  # the model may be missing or refuse: metadata similarity still works
            log.warning("library training: embedder unavailable (%s), using metadata TF-IDF", type(exc).__name__)
            content_kind = f"metadata TF-IDF (embedder unavailable: {type(exc).__name__})"
        embed_s = time.perf_counter() - t_embed
    content = ContentSimilarity(ItemContent([i["title"] for i in items], [i["authors"] for i in items],
                                            [i["subjects"] for i in items], [i["language"] or "" for i in items],
                                            vectors))
    step("Training", 0, 1)
    X = interactions.matrix
    tuning_readers = int((np.diff(X.indptr) >= 2).sum())
    tuned = tuning_readers >= MIN_TUNING_READERS
    if tuned:
        model = Blend(content=content).fit(X)
    else:
        notes.append(f"only {tuning_readers} readers with ≥ 2 loans: fixed weights, λ {FALLBACK_L2:g}")
        model = Blend(content=content, weights=dict(FALLBACK_WEIGHTS), ease_l2=FALLBACK_L2).fit(X)
    step("Training", 1, 1)
    now = dt.datetime.now(dt.UTC)
    model_id = now.strftime("%Y%m%dT%H%M%S%fZ")
    folder = models_dir(runtime.settings) / model_id
    make_dirs(folder.parent, mode=0o700)
    meta = [{k: i[k] for k in ("id", "title", "authors", "media_type", "language", "age_group")} | {"text": t}
            for i, t in zip(items, texts, strict=True)]
    try:  # a new folder, made current only at the end: a full disk leaves the current model as it was
        serving.save(model, folder, ids)
        atomic_write(folder / "items.json", json.dumps(meta, ensure_ascii=False))
        if vectors is not None:
            np.save(folder / "vectors.npy", vectors, allow_pickle=False)
    except BaseException as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, OSError):
            raise storage_error(exc, folder) from exc
        raise
    report = TrainReport(model_id, str(folder), len(ids), X.shape[0], int(X.nnz), int(model.cold.sum()),
                         {k: float(v) for k, v in (model.weights or {}).items()},
                         model.ease_l2 if model.ease_l2 is not None else (L2_GRID[0] if "ease" in model.components
                                                                          else None),
                         tuned, content_kind, embed_s, time.perf_counter() - t0, now.isoformat(), notes)
    atomic_write(folder / "train.json", json.dumps(report.as_dict(), ensure_ascii=False))
    _set_current(models_dir(runtime.settings), model_id)
    _prune(models_dir(runtime.settings), model_id)
    log.info("library model %s trained: %d items, %d readers, %d loans, %.1f s", model_id, report.items,
             report.readers, report.loans, report.seconds)
    return report


def has_loans(session: Session) -> bool:
    from rathaus.library.schema import LibraryLoan

    return session.scalar(sa.select(sa.exists().where(LibraryLoan.item_id.is_not(None)))) is True


def _set_current(folder: Path, model_id: str) -> None:
    atomic_write(folder / POINTER, json.dumps({"model_id": model_id}))


def _prune(folder: Path, current: str) -> None:
    models = sorted(p for p in folder.iterdir() if p.is_dir() and (p / "model.json").is_file())
    for old in models[:-KEEP]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def current_id(settings: Settings) -> str | None:
    try:
        return json.loads((models_dir(settings) / POINTER).read_text())["model_id"]
    except (FileNotFoundError, KeyError, ValueError):
        return None


def current_age_hours(settings: Settings) -> float | None:
    """Hours since the current model was trained (None: no model)."""
    model_id = current_id(settings)
    if model_id is None:
        return None
    trained = dt.datetime.strptime(model_id, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - trained).total_seconds() / 3600


@dataclass
class LoadedModel:
    model_id: str
    model: Blend
    item_ids: list[str]
    index: dict[str, int]
    items: list[dict[str, Any]]
    vectors: np.ndarray | None
    info: dict[str, Any]
    media_type: np.ndarray
    language: np.ndarray
    age_group: np.ndarray

    def allowed(self, media_type: str | None = None, language: str | None = None,
                age_group: str | None = None) -> np.ndarray | None:
        if not (media_type or language or age_group):
            return None
        mask = np.ones(len(self.item_ids), dtype=bool)
        for wanted, column in ((media_type, self.media_type), (language, self.language),
                               (age_group, self.age_group)):
            if wanted:
                mask &= column == wanted
        return mask


_cache: dict[tuple[str, str], LoadedModel] = {}
_lock = threading.Lock()


def load_current(runtime: Runtime) -> LoadedModel:
    """The current model (cached in-process per model id); ``Conflict`` (409) when none is trained yet."""
    folder = models_dir(runtime.settings)
    model_id = current_id(runtime.settings)
    if model_id is None or not (folder / model_id / "model.json").is_file():
        raise Conflict(NOT_TRAINED)
    key = (str(folder), model_id)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        path = folder / model_id
        model = serving.load(path)
        assert isinstance(model, Blend)
        ids = serving.load_item_ids(path) or []
        items = json.loads((path / "items.json").read_text())
        vectors = np.load(path / "vectors.npy", allow_pickle=False) if (path / "vectors.npy").is_file() else None
        info = json.loads((path / "train.json").read_text())
        column = lambda name: np.array([i[name] or "" for i in items], dtype=object)  # noqa: E731
        loaded = LoadedModel(model_id, model, ids, {t: n for n, t in enumerate(ids)}, items, vectors, info,
                             column("media_type"), column("language"), column("age_group"))
        for old in [k for k in _cache if k[0] == key[0]]:
            del _cache[old]
        _cache[key] = loaded
        return loaded
