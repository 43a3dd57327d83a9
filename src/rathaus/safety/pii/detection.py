"""``detect(text)``: every detector over the normalised text, overlaps resolved, offsets in the ORIGINAL text.

Overlaps: patterns and cue rules win over the tagger, then the higher score, then the longer span; so a
checksum-valid IBAN (0.99) beats a phone number read into its digits (0.85), and a cue-found
"Anna-Lena Meier" beats the tagger's "Dr. Anna-Lena". Runs in time linear in the text; texts longer than
MAX_CHARS are refused.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

from rathaus.core.errors import BadRequest
from rathaus.safety.pii import kinds as k
from rathaus.safety.pii.normalise import normalise
from rathaus.safety.pii.patterns import Candidate, find_patterns
from rathaus.safety.pii.persons import TITLE_WORDS, cue_persons, trim_titles
from rathaus.safety.pii.tagger import default_tagger
from rathaus.safety.pii.tokens import sentences

# placeholder-shaped text ("[PERSON_1]") is never personal data: it was generated here or typed as such
PLACEHOLDER = re.compile(r"\[([A-Z][A-Z_]{0,30}?)_(\d{1,7})\]")
# words the tagger must not take for a name or place on their own (contact labels, units, greetings)
NOT_ENTITIES = frozenset({
    "tel", "telefon", "fax", "mobil", "handy", "mail", "e-mail", "email", "iban", "bic", "nr", "str", "hausnr",
    "plz", "ort", "datum", "uhr", "euro", "eur", "name", "vorname", "nachname", "hallo", "liebe", "lieber", "moin",
    "servus", "hi", "hey", "grüß", "gruß", "grüße",
})
MAX_CHARS = 100_000  # ~25 pages; worst case ~7 s on one core (the tagger's Python feature extraction dominates)
_TAGGER_KINDS = {"PER": k.PERSON, "LOC": k.ORT}


def check_size(text: str) -> None:
    if not isinstance(text, str):
        raise BadRequest("text must be a string")
    if len(text) > MAX_CHARS:
        raise BadRequest(f"Text zu lang für die Prüfung auf personenbezogene Daten ({len(text):,} Zeichen, "
                         f"höchstens {MAX_CHARS:,}) / text too long for the personal-data check")


def _name_candidates(text: str, wanted: frozenset[str], high_recall: bool) -> list[Candidate]:
    tagger = default_tagger()
    thresholds = tagger.thresholds_high_recall if high_recall else tagger.thresholds
    found: list[Candidate] = []
    units = sentences(text)
    classes = tagger.classifier.probabilities([t.text for unit in units for t in unit])
    for unit in units:
        if not any(t.text[:1].isupper() for t in unit):
            continue  # names and places start with a capital; skip the tagger for the rest
        for span in tagger.tag([t.text for t in unit], thresholds, classes=classes):
            kind = _TAGGER_KINDS[span.type]
            first = trim_titles(unit, span.first, span.stop) if kind == k.PERSON else span.first
            if span.stop - first == 1 and unit[first].text.lower() in NOT_ENTITIES:
                continue
            if kind in wanted and not (kind == k.PERSON and unit[first].text.lower() in TITLE_WORDS):
                start, end = unit[first].start, unit[span.stop - 1].end
                found.append(Candidate(kind, start, end, round(span.score, 3), "crf"))
    if k.PERSON in wanted:
        tokens = [t for unit in units for t in unit]
        for first, stop, score, detector in cue_persons(tokens, tagger.lexicon, text):
            found.append(Candidate(k.PERSON, tokens[first].start, tokens[stop - 1].end, score, detector))
    return found


def resolve(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the best non-overlapping candidates: rules and patterns before the tagger (their boundaries are
    exact), then the higher score, the longer span, the earlier one."""
    ordered = sorted(candidates, key=lambda c: (c.detector == "crf", -c.score, -(c.end - c.start), c.start))
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


def detect(text: str, kinds: set[str] | frozenset[str] | None = None, *, high_recall: bool = False) -> list[k.PiiSpan]:
    """Personal data in ``text`` as spans sorted by position; ``kinds`` limits what is looked for.

    ``high_recall`` uses the tagger's second operating point (chosen on validation for the best F2): more
    names found, more ordinary words taken for names.
    """
    check_size(text)
    wanted = k.check_kinds(kinds)
    if not text.strip():
        return []
    norm = normalise(text)
    candidates = find_patterns(norm.text, wanted)
    if wanted & {k.PERSON, k.ORT}:
        candidates.extend(_name_candidates(norm.text, wanted, high_recall))
    placeholders = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(norm.text)] if "[" in norm.text else []
    if placeholders:
        candidates = [c for c in candidates if not any(s < c.end and c.start < e for s, e in placeholders)]
    spans = []
    for cand in resolve(candidates):
        start, end = norm.to_original(cand.start, cand.end)
        spans.append(k.PiiSpan(cand.kind, start, end, cand.score, cand.detector, text[start:end]))
    return spans


def contains_pii(text: str, kinds: set[str] | frozenset[str] | None = None, *,
                 high_recall: bool = False) -> dict[str, int]:
    """Counts per kind (no values) — for a block decision or the audit log."""
    return dict(Counter(span.kind for span in detect(text, kinds, high_recall=high_recall)))
