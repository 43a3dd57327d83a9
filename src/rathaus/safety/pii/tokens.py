"""Split (normalised) text into word tokens with offsets, close to GermEval 2014's tokenisation.

Words keep inner hyphens and apostrophes (``Müller-Lüdenscheidt``, ``O'Neill``, ``Peel's``),
every other non-space character is a token of its own. Sentences end at line breaks and at
``. ! ?`` before a capital unless the word before the dot is an abbreviation (``Dr.``, ``Prof.``,
``M.``), so the tagger sees short units and names are never cut apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rathaus.safety.pii.lexicon import words

_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*|\S")
MAX_SENTENCE_TOKENS = 200
ABBREVIATIONS = words(
    "dr prof hr fr frl st str nr geb dipl ing med jur rer nat phil dres mag bzw ca vgl z b u a o ä usw inkl abs art "
    "tel mob fax hrsg bd jh jhd mio mrd ggf evtl sog zt v h s d i e"
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def sentences(text: str) -> list[list[Token]]:
    """Tokens grouped into sentence-like units (at most MAX_SENTENCE_TOKENS each)."""
    units: list[list[Token]] = []
    current: list[Token] = []
    tokens = tokenize(text)
    for i, token in enumerate(tokens):
        if current and (len(current) >= MAX_SENTENCE_TOKENS or "\n" in text[current[-1].end : token.start]):
            units.append(current)
            current = []
        current.append(token)
        if token.text in ".!?" and i + 1 < len(tokens) and tokens[i + 1].text[:1].isupper():
            before = current[-2].text if len(current) >= 2 else ""
            if token.text != "." or (len(before) > 1 and before.lower() not in ABBREVIATIONS):
                units.append(current)
                current = []
    if current:
        units.append(current)
    return units
