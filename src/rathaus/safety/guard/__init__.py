"""Content guard: is a text offensive (insulting, abusive, discriminatory, misanthropic, anti-democratic)?

    from rathaus.safety.guard import check
    result = check("Du bist ein I d i o t")   # GuardResult(label="offensive", score=0.9…, reasons=[…])

The text is first normalised against the usual dodges (``rathaus.safety.guard.normalisation``: zero-width characters,
homoglyphs, spaced-out letters, leetspeak, HTML/Markdown with hidden parts), then the visible and the hidden
text are classified separately by the shipped model (``rathaus.safety.guard.model``, trained on GermEval 2018, see
docs/safety-guard.md). The higher of the two scores decides; hidden text is always named in the reasons.

Size: texts longer than ``CHUNK_CHARS`` are classified in overlapping windows of about that size (the model
was trained on tweets; one offensive sentence must not be diluted by a long harmless text) and the highest
window counts. Texts above ``MAX_CHARS`` are refused with ``PayloadTooLarge`` rather than checked partially.

The score is the stacked model's probability of "offensive" (calibrated on GermEval's 34 % offensive share,
not on chat traffic); ``label`` is "offensive" when ``score >= threshold``. The default threshold was chosen
on cross-validation of the training part (never the held-out test part) and is stored in the model file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from rathaus.core.errors import BadRequest, PayloadTooLarge
from rathaus.core.language import detect_language
from rathaus.safety.guard.model import GuardModel, load_model
from rathaus.safety.guard.normalisation import normalise

CHUNK_CHARS = 500
CHUNK_OVERLAP_WORDS = 8
MAX_CHARS = 200_000
REASON_HIDDEN_OFFENSIVE = "versteckter Text ist anstößig / hidden text is offensive"
REASON_FEATURES = "Merkmale / features"
REASON_LANGUAGE = "Sprache nicht abgedeckt, Ergebnis unsicher / language not covered, result unreliable"
NEUTRAL_MENTIONS_FILE = "neutral_mentions_de.txt"

Label = Literal["offensive", "ok"]


@dataclass
class GuardResult:
    """Outcome of one check; ``score`` is probability-like (0–1), ``label`` follows ``score >= threshold``."""

    label: Label
    score: float
    threshold: float
    reasons: list[str] = field(default_factory=list)
    visible_score: float = 0.0
    hidden_score: float | None = None  # None when the text had no hidden part
    hidden_text: str = ""
    top_features: list[str] = field(default_factory=list)
    normalised_text: str = ""
    chunks: int = 0
    language: str | None = None  # detected language of the visible text (None: too short to tell)

    @property
    def offensive(self) -> bool:
        return self.label == "offensive"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def chunks(text: str, size: int = CHUNK_CHARS, overlap_words: int = CHUNK_OVERLAP_WORDS) -> list[str]:
    """Windows of about ``size`` characters on word boundaries, overlapping by a few words."""
    if len(text) <= size:
        return [text]
    words = [part for word in text.split() for part in (word[i:i + size] for i in range(0, len(word), size))]
    windows: list[str] = []
    start = 0
    while start < len(words):
        end, length = start, 0
        while end < len(words) and (length + len(words[end]) + 1 <= size or end == start):
            length += len(words[end]) + 1
            end += 1
        windows.append(" ".join(words[start:end]))
        if end >= len(words):
            break
        start = max(start + 1, end - overlap_words)
    return windows


def _max_score(model: GuardModel, text: str) -> tuple[float, str, int]:
    """(highest window score, that window, number of windows)."""
    best, best_window = 0.0, ""
    windows = [w for w in chunks(text) if w.strip()]
    for window in windows:
        score = model.probability(window)
        if score > best or not best_window:
            best, best_window = score, window
    return best, best_window, len(windows)


def _threshold(model: GuardModel, threshold: float | None) -> float:
    if threshold is None:
        return model.threshold
    if not 0.0 <= threshold <= 1.0:
        raise BadRequest(f"threshold must be between 0 and 1, not {threshold}")
    return float(threshold)


def check(text: str, threshold: float | None = None, model: GuardModel | None = None) -> GuardResult:
    """Classify one text (plain, HTML or Markdown); ``threshold`` defaults to the model's validated one,
    ``model`` to the shipped one (benchmarks pass models trained on one source only)."""
    if not isinstance(text, str):
        raise BadRequest(f"text must be a string, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise PayloadTooLarge(f"text has {len(text):,} characters; the guard checks at most {MAX_CHARS:,} "
                              f"(split it and check the parts)")
    model = model or load_model()
    limit = _threshold(model, threshold)
    normalised = normalise(text)
    reasons = list(normalised.changes)
    if not normalised.visible.strip() and not normalised.hidden.strip():
        return GuardResult("ok", 0.0, limit, [*reasons, "leerer Text / empty text"], normalised_text="")
    visible_score, visible_window, count = (_max_score(model, normalised.visible) if normalised.visible.strip()
                                            else (0.0, "", 0))
    hidden_score: float | None = None
    hidden_window = ""
    if normalised.hidden.strip():
        hidden_score, hidden_window, hidden_count = _max_score(model, normalised.hidden)
        count += hidden_count
        if hidden_score >= limit:
            reasons.append(REASON_HIDDEN_OFFENSIVE)
    score = max(visible_score, hidden_score or 0.0)
    label: Label = "offensive" if score >= limit else "ok"
    language = detect_language(normalised.visible)
    if language not in (None, "de"):
        reasons.append(f"{REASON_LANGUAGE}: {language}")
    top: list[str] = []
    if label == "offensive":
        top = model.top_features(hidden_window if (hidden_score or 0.0) > visible_score else visible_window)
        if top:
            reasons.append(f"{REASON_FEATURES}: {', '.join(top)}")
    return GuardResult(label, score, limit, reasons, visible_score=visible_score, hidden_score=hidden_score,
                       hidden_text=normalised.hidden, top_features=top, normalised_text=normalised.visible,
                       chunks=count, language=language)


def check_many(texts: Iterable[str], threshold: float | None = None) -> list[GuardResult]:
    """``check`` for each text, in order."""
    return [check(text, threshold) for text in texts]


def warm_up() -> None:
    """Load everything a first check would load (model, tokenizer, homoglyph table, language model), so that
    timing loops and the first request of a server do not pay for it."""
    check("Dies ist ein kurzer Text, der den Inhaltsfilter vor der ersten Anfrage lädt: Ｉd\u200biот.")


def default_threshold() -> float:
    """The threshold stored with the shipped model (chosen on cross-validation, not on test data)."""
    return load_model().threshold


# --- neutral mentions of protected groups ------------------------------------------------------------
@lru_cache(maxsize=1)
def neutral_mentions() -> tuple[tuple[str, str], ...]:
    """(group, sentence) pairs from the shipped hand-written file (``## group`` headers, one sentence a line)."""
    content = (resources.files("rathaus.safety") / "data" / NEUTRAL_MENTIONS_FILE).read_text(encoding="utf-8")
    group, pairs = "other", []
    for line in content.splitlines():
        line = line.strip()
        if line.startswith("##"):
            group = line.lstrip("#").strip()
        elif line and not line.startswith("#"):
            pairs.append((group, line))
    return tuple(pairs)


def neutral_false_positive_rate(threshold: float | None = None) -> dict[str, Any]:
    """How often the guard flags neutral sentences that merely mention protected groups (lower is better).

    Returns ``{"sentences", "false_positives", "rate", "threshold", "by_group": {group: {"sentences",
    "false_positives", "rate"}}, "flagged": [{"group", "text", "score"}, …]}``.
    """
    pairs = neutral_mentions()
    limit = _threshold(load_model(), threshold)
    results = check_many([text for _, text in pairs], limit)
    by_group: dict[str, dict[str, Any]] = {}
    flagged = []
    for (group, text), result in zip(pairs, results, strict=True):
        entry = by_group.setdefault(group, {"sentences": 0, "false_positives": 0})
        entry["sentences"] += 1
        if result.offensive:
            entry["false_positives"] += 1
            flagged.append({"group": group, "text": text, "score": round(result.score, 4)})
    for entry in by_group.values():
        entry["rate"] = entry["false_positives"] / entry["sentences"]
    total = sum(e["false_positives"] for e in by_group.values())
    return {"sentences": len(pairs), "false_positives": total, "rate": total / len(pairs) if pairs else 0.0,
            "threshold": limit, "by_group": by_group,
            "flagged": sorted(flagged, key=lambda f: -f["score"])}
