"""Evidence for an answer: the sentences of the retrieved passages that best answer the question.

Quotes are cut verbatim from the stored document text (with offsets), so they can always be shown
and checked against the source. Sentences that look like instructions to a model (prompt injection
planted in a document) are never used as evidence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from rathaus.safety import injection

WORD = re.compile(r"\w+", re.UNICODE)
SENTENCE_END = re.compile(r"[.!?…:;»«\"“”)]\s*$")
# e-mail and letter headers ("Betreff: …", "Von: …") carry no answer, but match many question words
HEADER_LINE = re.compile(
    r"^\W*(betreff|von|an|cc|bcc|gesendet|datum|date|from|to|subject|sent|tel\.?|telefon|fax|e-?mail|internet|"
    r"www|az|aktenzeichen|unser zeichen|ihr zeichen)\W*:", re.IGNORECASE)


def normalise(text: str) -> str:
    """For quote checks: Unicode NFC and every run of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def quote_is_verbatim(quote: str, source_text: str) -> bool:
    return bool(quote.strip()) and normalise(quote) in normalise(source_text)


@lru_cache(maxsize=16)
def _segmenter(lang: str) -> Any:
    import pysbd

    try:
        return pysbd.Segmenter(language=lang, clean=False, char_span=True)
    except ValueError:
        return pysbd.Segmenter(language="de", clean=False, char_span=True)


def sentence_spans(text: str, lang: str | None) -> list[tuple[int, int]]:
    """[start, end) spans of the sentences of ``text`` (whitespace trimmed)."""
    spans = []
    for line_start, line in _lines(text):
        for seg in _segmenter(lang or "de").segment(line):
            start = line_start + seg.start
            end = line_start + seg.end
            raw = text[start:end]
            left = len(raw) - len(raw.lstrip())
            right = len(raw.rstrip())
            if right - left >= 3:
                spans.append((start + left, start + right))
    return spans


def _lines(text: str) -> list[tuple[int, str]]:
    """Blocks separated by blank lines or table rows, so a heading never glues onto a sentence."""
    out = []
    pos = 0
    for part in re.split(r"(\n\s*\n|\n(?=\S*\|))", text):
        if part and not part.isspace() and not re.fullmatch(r"\n\s*\n|\n", part):
            out.append((pos, part))
        pos += len(part)
    return out


def _stems(text: str, lang: str | None = "de") -> set[str]:
    """Lemmas of the content words (simplemma; "geheiratet" and "heiratete" both give "heiraten")."""
    import simplemma

    code = lang if lang in _LEMMA_LANGUAGES else "de"
    return {simplemma.lemmatize(w, lang=code).casefold() for w in WORD.findall(text) if len(w) >= 4 and not w.isdigit()}


_LEMMA_LANGUAGES = {"de", "en", "tr", "ru", "uk", "pl", "hr", "ro", "it", "el", "fr", "es", "nl"}


@dataclass
class Evidence:
    n: int
    hit: Any  # rathaus.knowledge.Hit
    quote: str
    start: int  # offsets into the document text
    end: int
    score: float
    similarity: float


@dataclass
class Candidate:
    hit: Any
    rank: int
    start: int  # within the chunk text
    end: int
    text: str


@dataclass
class Removed:
    """A sentence left out of the evidence because it reads as an instruction to the model."""

    hit: Any
    start: int  # within the chunk text
    end: int
    kinds: list[str]
    score: float

    def audit(self) -> dict[str, Any]:
        """For the audit log: where it was and what it was, never the text itself (only its hash)."""
        from rathaus.core.audit import content_hash

        return {"document_id": self.hit.document_id, "chunk_id": self.hit.chunk_id,
                "start": self.hit.start + self.start, "end": self.hit.start + self.end, "kinds": self.kinds,
                "score": self.score, "sha256": content_hash(self.hit.text[self.start:self.end])}


def candidates(hits: list[Any], max_hits: int = 4, max_chars: int = 600) -> tuple[list[Candidate], int]:
    """Sentences of the top hits, minus those that look like injected instructions (counted)."""
    cands, removed = screen(hits, max_hits, max_chars)
    return cands, len(removed)


def screen(hits: list[Any], max_hits: int = 4, max_chars: int = 600) -> tuple[list[Candidate], list[Removed]]:
    """Sentences of the top hits that may serve as evidence, and those removed as planted instructions
    (``rathaus.safety.injection.flagged_spans``: a sentence that reads as an instruction to a model, and
    its neighbours in the paragraph that carry its payload)."""
    out: list[Candidate] = []
    removed: list[Removed] = []
    for rank, hit in enumerate(hits[:max_hits], 1):
        spans = sentence_spans(hit.text, hit.language)
        flagged = injection.flagged_spans(hit.text, spans)
        for i, (start, end) in enumerate(spans):
            sentence = hit.text[start:end]
            if i in flagged:
                removed.append(Removed(hit, start, end, flagged[i].kinds, flagged[i].score))
                continue
            words = len(WORD.findall(sentence))
            if HEADER_LINE.match(sentence) or words < 4:
                continue
            if words < 12 and not SENTENCE_END.search(sentence):  # headings and titles answer nothing
                continue
            if len(sentence) > max_chars:  # over-long "sentences" (lists, tables) are cut at a word
                sentence = sentence[:max_chars].rsplit(" ", 1)[0]
                end = start + len(sentence)
            out.append(Candidate(hit, rank, start, end, sentence))
    return out, removed


def select(question: str, question_vector: list[float], cands: list[Candidate], sentence_vectors: list[list[float]],
           max_quotes: int = 3, max_sources: int = 3, question_language: str | None = "de") -> list[Evidence]:
    """Best sentences by meaning (cosine), shared words and the passage's rank; one or two per passage."""
    if not cands:
        return []
    q = np.asarray(question_vector, dtype=np.float32)
    sims = np.asarray(sentence_vectors, dtype=np.float32) @ q
    q_stems = _stems(question, question_language)
    scored = []
    for cand, sim in zip(cands, sims, strict=True):
        overlap = len(q_stems & _stems(cand.text, cand.hit.language)) / max(1, len(q_stems))
        scored.append((float(sim) + 0.35 * overlap + 0.04 / cand.rank, float(sim), cand))
    scored.sort(key=lambda t: -t[0])
    chosen: list[Evidence] = []
    per_doc: dict[int, int] = {}
    for score, sim, cand in scored:
        doc = cand.hit.document_id
        if per_doc.get(doc, 0) >= 2 or (doc not in per_doc and len(per_doc) >= max_sources):
            continue
        per_doc[doc] = per_doc.get(doc, 0) + 1
        chosen.append(Evidence(0, cand.hit, cand.text, cand.hit.start + cand.start, cand.hit.start + cand.end,
                               score, sim))
        if len(chosen) >= max_quotes:
            break
    for n, ev in enumerate(chosen, 1):
        ev.n = n
    return chosen
