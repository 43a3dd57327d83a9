"""``detect(text)``: every detector over the normalised text, overlaps resolved, offsets in the ORIGINAL text.

Overlaps: the candidate with the higher score wins, then the longer one; so a checksum-valid IBAN (0.99)
beats a phone number read into its digits (0.85), and a cue-found "Anna-Lena Meier" (0.92) beats the
tagger's partial "Meier". Runs in time linear in the text; texts longer than MAX_CHARS are refused.
"""

from __future__ import annotations

import bisect
from collections import Counter

from rathaus.core.errors import BadRequest
from rathaus.safety.pii import kinds as k
from rathaus.safety.pii.normalise import normalise
from rathaus.safety.pii.patterns import Candidate, find_patterns
from rathaus.safety.pii.persons import cue_persons
from rathaus.safety.pii.tagger import default_tagger
from rathaus.safety.pii.tokens import sentences

MAX_CHARS = 200_000  # ~60 pages; the tagger needs ~1 s per 50 000 characters on one core
_TAGGER_KINDS = {"PER": k.PERSON, "LOC": k.ORT}


def check_size(text: str) -> None:
    if not isinstance(text, str):
        raise BadRequest("text must be a string")
    if len(text) > MAX_CHARS:
        raise BadRequest(f"Text zu lang für die Prüfung auf personenbezogene Daten ({len(text):,} Zeichen, "
                         f"höchstens {MAX_CHARS:,}) / text too long for the personal-data check")


def _name_candidates(text: str, wanted: frozenset[str]) -> list[Candidate]:
    tagger = default_tagger()
    found: list[Candidate] = []
    units = sentences(text)
    for unit in units:
        for span in tagger.tag([t.text for t in unit]):
            kind = _TAGGER_KINDS[span.type]
            if kind in wanted:
                found.append(Candidate(kind, unit[span.first].start, unit[span.stop - 1].end, round(span.score, 3), "crf"))
    if k.PERSON in wanted:
        tokens = [t for unit in units for t in unit]
        for first, stop, score, detector in cue_persons(tokens, tagger.lexicon, text):
            found.append(Candidate(k.PERSON, tokens[first].start, tokens[stop - 1].end, score, detector))
    return found


def resolve(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the best non-overlapping candidates (higher score, then longer, then earlier)."""
    ordered = sorted(candidates, key=lambda c: (-c.score, -(c.end - c.start), c.start))
    starts: list[int] = []
    kept: list[Candidate] = []
    for cand in ordered:
        i = bisect.bisect_right(starts, cand.start)
        if i > 0 and kept[i - 1].end > cand.start:
            continue
        if i < len(kept) and kept[i].start < cand.end:
            continue
        starts.insert(i, cand.start)
        kept.insert(i, cand)
    return kept


def detect(text: str, kinds: set[str] | frozenset[str] | None = None) -> list[k.PiiSpan]:
    """Personal data in ``text`` as spans sorted by position; ``kinds`` limits what is looked for."""
    check_size(text)
    wanted = k.check_kinds(kinds)
    if not text.strip():
        return []
    norm = normalise(text)
    candidates = find_patterns(norm.text, wanted)
    if wanted & {k.PERSON, k.ORT}:
        candidates.extend(_name_candidates(norm.text, wanted))
    spans = []
    for cand in resolve(candidates):
        start, end = norm.to_original(cand.start, cand.end)
        spans.append(k.PiiSpan(cand.kind, start, end, cand.score, cand.detector, text[start:end]))
    return spans


def contains_pii(text: str, kinds: set[str] | frozenset[str] | None = None) -> dict[str, int]:
    """Counts per kind (no values) — for a block decision or the audit log."""
    return dict(Counter(span.kind for span in detect(text, kinds)))
