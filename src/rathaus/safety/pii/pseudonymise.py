"""Consistent placeholders for one request or chat session, and the way back.

``Pseudonymiser.pseudonymise`` replaces personal data with ``[PERSON_1]``, ``[ADRESSE_1]``, … The same value
gets the same placeholder in every text of the session: also "Herrn Müllers" after "Herr Müller", and
"Frau Meier" after "Anna Meier"; values seen once are replaced again in later texts even without a cue.
``restore`` (and ``restorer()`` for streamed answers) puts the values back for the user.

The mapping lives only in this object: it is never logged, never serialised (pickling, copying and
``repr`` refuse or show counts only). ``found`` gives counts per kind for the audit log.

Placeholders the user typed ("[PERSON_1]" in the input) are themselves replaced by ``[PLATZHALTER_n]``
and restored verbatim, so every placeholder-shaped string the model sees was generated here and an
answer can never be confused about which is which.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NoReturn

from rathaus.safety.pii import kinds as k
from rathaus.safety.pii.detection import PLACEHOLDER, check_size, detect
from rathaus.safety.pii.lexicon import load_lexicon

LITERAL = "PLATZHALTER"  # a placeholder-shaped string typed by the user
_PLACEHOLDER_PREFIX = re.compile(r"\[(?:[A-Z][A-Z_]{0,30}(?:\d{1,7}\]?)?)?")
MAX_PLACEHOLDER = 42
_GENITIVE = re.compile(r"(?:'s|’s|s|')$")


def _key(kind: str, value: str) -> str:
    """What makes two surfaces the same value: case, spacing and separators do not matter."""
    folded = " ".join(value.casefold().split())
    if kind in (k.IBAN, k.STEUER_ID, k.KFZ, k.AUSWEIS):
        return re.sub(r"[\s./-]", "", folded)
    if kind == k.TELEFON:
        digits = re.sub(r"\D", "", folded)
        return "0" + digits[2:] if folded.startswith("+49") else ("0" + digits[4:] if digits.startswith("0049")
                                                                  else digits)
    return folded


class StreamRestorer:
    """Restores placeholders in a streamed answer, also when one is split across chunks."""

    def __init__(self, pseudonymiser: Pseudonymiser):
        self._p = pseudonymiser
        self._buffer = ""

    def feed(self, chunk: str) -> str:
        self._buffer += chunk
        cut = len(self._buffer)
        start = self._buffer.rfind("[", max(0, len(self._buffer) - MAX_PLACEHOLDER))
        if start != -1 and "]" not in self._buffer[start:] and _PLACEHOLDER_PREFIX.fullmatch(self._buffer[start:]):
            cut = start  # may be the beginning of a placeholder: hold it back until it is complete
        out, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._p.restore(out)

    def flush(self) -> str:
        out, self._buffer = self._buffer, ""
        return self._p.restore(out)


class Pseudonymiser:
    """One per request or chat session. Not thread-safe; never share it between users."""

    def __init__(self, kinds: set[str] | frozenset[str] | None = None, *, high_recall: bool = False,
                 min_score: float = 0.0):
        """``kinds``: what to replace (default: all but bare place names); ``high_recall``: see ``detect``;
        ``min_score``: ignore findings scored lower (the tagger's own threshold already applies)."""
        self.kinds = k.check_kinds(kinds) if kinds is not None else k.DEFAULT_PSEUDONYMISE_KINDS
        self.high_recall = high_recall
        self.min_score = min_score
        self._value: dict[str, str] = {}  # placeholder -> original text
        self._placeholder: dict[tuple[str, str], str] = {}  # (kind, key) -> placeholder
        self._surnames: dict[str, set[str]] = {}  # a person's single name word -> its placeholders
        self._counters: Counter[str] = Counter()
        self._found: Counter[str] = Counter()

    # --- never leak the mapping -------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"Pseudonymiser(found={dict(self._found)})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Pseudonymiser holds personal data and cannot be pickled, copied or serialised")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Pseudonymiser holds personal data and cannot be pickled, copied or serialised")

    @property
    def found(self) -> dict[str, int]:
        """How many values of each kind were replaced in this session (counts only, for the audit log)."""
        return dict(self._found)

    # --- placeholders -------------------------------------------------------------------------------------
    def _new(self, kind: str, surface: str) -> str:
        self._counters[kind] += 1
        placeholder = f"[{kind}_{self._counters[kind]}]"
        self._value[placeholder] = surface
        return placeholder

    def _person(self, surface: str) -> str:
        key = _key(k.PERSON, surface)
        stem_surface = _GENITIVE.sub("", surface)
        stem = _key(k.PERSON, stem_surface)
        for candidate in (key, stem):
            if (k.PERSON, candidate) in self._placeholder:
                return self._placeholder[(k.PERSON, candidate)]
        words = key.split()
        if len(words) == 1:  # "Meier" after "Anna Meier": the same person when only one is known by that name
            for word in (key, stem):
                owners = self._surnames.get(word, set())
                if len(owners) == 1:
                    placeholder = next(iter(owners))
                    self._placeholder[(k.PERSON, key)] = placeholder
                    return placeholder
        lexicon = load_lexicon()
        stem_is_name = lexicon.is_last(stem_surface) or lexicon.is_first(stem_surface)
        if stem != key and " " not in stem_surface and stem_is_name \
                and not (lexicon.is_last(surface) or lexicon.is_first(surface)):
            surface, key = stem_surface, stem  # "Müllers" -> "Müller"
        placeholder = self._new(k.PERSON, surface)
        self._placeholder[(k.PERSON, key)] = placeholder
        if len(words) > 1:
            for word in {words[0], words[-1]}:
                if len(word) >= 3:
                    self._surnames.setdefault(word, set()).add(placeholder)
        return placeholder

    def _placeholder_for(self, kind: str, surface: str) -> str:
        if kind == k.PERSON:
            return self._person(surface)
        key = (kind, _key(kind, surface))
        if key not in self._placeholder:
            self._placeholder[key] = self._new(kind, surface)
        return self._placeholder[key]

    def _known(self, text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        """Earlier values of this session that occur again without a detector firing."""
        surfaces = {v for (kind, _), ph in self._placeholder.items() for v in [self._value[ph]]
                    if kind in self.kinds and kind != LITERAL and len(v) >= 3}
        surfaces |= {w for w, owners in self._surnames.items() if len(owners) == 1}
        if not surfaces:
            return []
        words = sorted(surfaces, key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?:'s|’s|s)?(?!\w)",
                             re.IGNORECASE)
        found = []
        for m in pattern.finditer(text):
            if m.group()[:1].isupper() and not any(s < m.end() and m.start() < e for s, e in taken):
                found.append((m.start(), m.end(), "known"))
        return found

    # --- public API -----------------------------------------------------------------------------------------
    def pseudonymise(self, text: str) -> str:
        """``text`` with personal data replaced by placeholders; raises BadRequest beyond the size limit."""
        check_size(text)
        literals = [(m.start(), m.end(), LITERAL) for m in PLACEHOLDER.finditer(text)]
        spans = [(s.start, s.end, s.kind) for s in detect(text, self.kinds, high_recall=self.high_recall)
                 if s.score >= self.min_score and not any(a < s.end and s.start < b for a, b, _ in literals)]
        spans += literals
        taken = [(s, e) for s, e, _ in spans]
        for start, end, _ in self._known(text, taken):
            surface = text[start:end]
            kind = next((kd for (kd, key), ph in self._placeholder.items()
                         if key in (_key(kd, surface), _key(kd, _GENITIVE.sub("", surface)))), k.PERSON)
            spans.append((start, end, kind))
            taken.append((start, end))
        spans.sort()
        out: list[str] = []
        cursor = 0
        for start, end, kind in spans:
            surface = text[start:end]
            if kind == LITERAL:
                key = (LITERAL, surface)
                if key not in self._placeholder:
                    self._placeholder[key] = self._new(LITERAL, surface)
                placeholder = self._placeholder[key]
            else:
                placeholder = self._placeholder_for(kind, surface)
                self._found[kind] += 1
            out.append(text[cursor:start])
            out.append(placeholder)
            cursor = end
        out.append(text[cursor:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """Placeholders of this session replaced by their values; unknown placeholder-like text is left alone."""
        return PLACEHOLDER.sub(lambda m: self._value.get(m.group(), m.group()), text)

    def restorer(self) -> StreamRestorer:
        return StreamRestorer(self)
