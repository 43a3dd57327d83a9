"""What the web catalogue asks for: "für Sie" (a reader's recommendations) and "ähnliche Medien".

``for_you`` turns the raw reader id into its pseudonym (``privacy.reader_key``) at once and reads the reader's
*current* loans and last 90 days of (scrubbed) searches from the database — never from the trained model, which
holds no reader at all — so an opt-out takes effect with the next request. The raw id is never logged or returned.

* reader with loans → the blend scores a row built from their loans; each item is explained with up to two of
  their loans ("Weil Sie „X“ ausgeliehen haben / because you borrowed “X”");
* reader without loans (new) → popularity plus the search signal of their recent queries;
* opted-out reader → popularity only (no personal data read, the searches are deleted anyway).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from rathaus.core.errors import BadRequest
from rathaus.library import serving
from rathaus.library.catalogue import AGE_GROUPS, MEDIA_TYPES
from rathaus.library.content import search_signal
from rathaus.library.privacy import opted_out, reader_key
from rathaus.library.store import get_item, load_searches, reader_items
from rathaus.library.training import LoadedModel, embed_texts, item_text, load_current

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

log = logging.getLogger(__name__)

MAX_K = 100
SEARCH_DAYS = 90
POPULAR = {"de": "Beliebt in der Bibliothek", "en": "popular in the library"}
POPULAR_SEARCH = {"de": "Beliebt und passend zu Ihren letzten Suchen",
                  "en": "popular and matching your recent searches"}
SIMILAR_TO_LOANS = {"de": "Ähnlich wie Ihre Ausleihen", "en": "similar to what you borrowed"}
_LANGUAGE = re.compile(r"[a-z]{3}")


def check_filters(k: int, media_type: str | None = None, language: str | None = None,
                  age_group: str | None = None) -> None:
    """400 with a specific message for a bad ``k`` or filter value."""
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadRequest(f"k muss 1–{MAX_K} sein / k must be between 1 and {MAX_K}")
    if media_type and media_type not in MEDIA_TYPES:
        raise BadRequest(f"unbekannter Medientyp / unknown media_type {media_type[:40]!r}; one of "
                         f"{', '.join(MEDIA_TYPES)}")
    if language and not _LANGUAGE.fullmatch(language):
        raise BadRequest(f"Sprache als ISO-639-2-Code / language must be an ISO 639-2 code like 'ger' or 'eng', "
                         f"not {language[:40]!r}")
    if age_group and age_group not in AGE_GROUPS:
        raise BadRequest(f"unbekannte Altersgruppe / unknown age_group {age_group[:40]!r}; one of "
                         f"{', '.join(AGE_GROUPS)}")


def _quote(title: str, lang: str) -> str:
    return f"„{title}“" if lang == "de" else f"“{title}”"


def explain(titles: list[str]) -> dict[str, str]:
    if not titles:
        return dict(SIMILAR_TO_LOANS)
    return {"de": "Weil Sie " + " und ".join(_quote(t, "de") for t in titles) + " ausgeliehen haben",
            "en": "because you borrowed " + " and ".join(_quote(t, "en") for t in titles)}


def _card(loaded: LoadedModel, index: int, score: float) -> dict[str, Any]:
    item = loaded.items[index]
    return {"id": item["id"], "title": item["title"], "authors": item["authors"], "media_type": item["media_type"],
            "language": item["language"], "age_group": item["age_group"], "score": round(score, 4)}


def _search_scores(runtime: Runtime, loaded: LoadedModel, queries: list[str]) -> np.ndarray | None:
    if not queries:
        return None
    if loaded.vectors is not None:
        try:
            vectors, _ = embed_texts(runtime, queries, purpose="query")
            return search_signal(loaded.vectors, vectors)
        except Exception as exc:  # fall back to the item texts
            log.warning("library: embedder unavailable for search signal (%s)", type(exc).__name__)
    return search_signal([i["text"] for i in loaded.items], queries)


def for_you(runtime: Runtime, raw_reader_id: str, k: int = 10, *, media_type: str | None = None,
            language: str | None = None, age_group: str | None = None, explain_items: bool = True,
            today: dt.date | None = None) -> dict[str, Any]:
    """Top-``k`` items for a reader (see the module docstring). The answer never contains the raw reader id."""
    check_filters(k, media_type, language, age_group)
    loaded = load_current(runtime)
    rk = reader_key(runtime.settings, raw_reader_id)
    since = (today or dt.date.today()) - dt.timedelta(days=SEARCH_DAYS)
    with runtime.db.session() as session:
        is_out = bool(opted_out(session, [rk]))
        loans = [] if is_out else reader_items(session, rk)
        queries = [] if is_out else [q for q, _ in load_searches(session, rk, since=since)]
    rows = [loaded.index[i] for i in loans if i in loaded.index]
    search = _search_scores(runtime, loaded, queries) if not rows else None
    recs = serving.recommend(loaded.model, rows, k, allowed=loaded.allowed(media_type, language, age_group),
                             search=search)
    basis = "loans" if rows else ("opted_out" if is_out else ("popular+searches" if search is not None
                                                              else "popular"))
    out = []
    for rec in recs:
        card = _card(loaded, int(rec.item), rec.score)
        if explain_items:
            if rows:
                titles = [loaded.items[int(j)]["title"] for j in rec.because]
                card["because"] = [loaded.items[int(j)]["id"] for j in rec.because]
                card["explanation"] = explain(titles)
            else:
                card["because"] = []
                card["explanation"] = dict(POPULAR_SEARCH if search is not None else POPULAR)
        out.append(card)
    return {"model_id": loaded.model_id, "basis": basis, "items": out}


def similar(runtime: Runtime, item_id: str, k: int = 10, *, media_type: str | None = None,
            language: str | None = None, age_group: str | None = None) -> dict[str, Any]:
    """"Similar media" for a catalogue page: content/metadata similarity and co-loans (items without loans or
    description get metadata neighbours). 404 for an item the catalogue does not know; an item imported after
    the model was trained is a cold start: compared by its text and authors with the model's items."""
    check_filters(k, media_type, language, age_group)
    loaded = load_current(runtime)
    allowed = loaded.allowed(media_type, language, age_group)
    if item_id not in loaded.index:
        item = get_item(runtime.db, item_id)  # NotFound (404) when the catalogue does not know it
        return {"model_id": loaded.model_id, "item": item_id, "basis": "content (newer than the model)",
                "items": [_card(loaded, i, score) for i, score in _cold_similar(runtime, loaded, item, k, allowed)]}
    recs = serving.similar_items(loaded.model, loaded.index[item_id], k, allowed=allowed)
    return {"model_id": loaded.model_id, "item": item_id, "basis": "content+co-loans",
            "items": [_card(loaded, int(r.item), r.score) for r in recs]}


def _cold_similar(runtime: Runtime, loaded: LoadedModel, item: dict[str, Any], k: int,
                  allowed: np.ndarray | None) -> list[tuple[int, float]]:
    """Neighbours of an item the model has not seen: text similarity (embedder, or TF-IDF over the items'
    texts) plus the content model's weights for a shared author (0.5) and the same language (0.1)."""
    text = item_text(item["title"], item["authors"], item["subjects"], item.get("description"))
    scores = _search_scores(runtime, loaded, [text]) if loaded.vectors is not None else None
    if scores is None:
        scores = search_signal([i["text"] for i in loaded.items], [text])
    authors = {a.casefold() for a in item["authors"]}
    shared = np.array([bool(authors & {a.casefold() for a in i["authors"]}) for i in loaded.items])
    language = np.array([bool(item.get("language")) and i["language"] == item.get("language")
                         for i in loaded.items])
    scores = scores.astype(np.float64) + 0.5 * shared + 0.1 * language
    if allowed is not None:
        scores[~allowed] = -np.inf
    order = [i for i in np.argsort(-scores, kind="stable") if np.isfinite(scores[i])][:k]
    return [(int(i), float(scores[i])) for i in order]


def model_info(runtime: Runtime) -> dict[str, Any]:
    loaded = load_current(runtime)
    return loaded.info
