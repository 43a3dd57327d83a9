"""Characters that hide or disguise text: one definition for every safeguard.

The content guard (``rathaus.safety.guard.normalisation``), personal-data detection
(``rathaus.safety.pii.normalise``), the prompt-injection scan (``rathaus.safety.injection``) and the bias
data loader each undo dodges in their own way (with or without an offset map, keeping or folding case),
but they agree on *which* characters are invisible and *which* letters are look-alikes. Both live here.

* **Invisible**: Unicode format characters (category Cf: zero-width space and joiners, soft hyphen, word
  joiner, BOM, bidi controls, invisible operators, tag characters) and the letters and marks that render
  blank (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation
  selectors and vowel separator, Braille blank, variation selectors).
* **Homoglyphs**: non-Latin letters that look like one ASCII letter, from Unicode's confusables list
  (package ``confusable-homoglyphs``): Cyrillic ``а`` → ``a``, Greek ``Ο`` → ``O``. Case is kept; the
  capital-I look-alikes (Cyrillic/Greek I, palochka) become ``I``, not the ``l`` of the confusables skeleton.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex

_INVISIBLE = regex.compile(r"[\p{Cf}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180e\u2800\u3164\uffa0\ufe00-\ufe0f]")
TAG_CHARACTERS = range(0xE0000, 0xE0080)  # invisible, but a model reads E0020–E007E as ASCII
_I_LIKE = ("LETTER I", "CAPITAL I", "LETTER IOTA", "LETTER BYELORUSSIAN-UKRAINIAN I", "LETTER PALOCHKA")


def is_invisible(char: str) -> bool:
    """True for a character that renders as nothing (see the module docstring); tag characters included."""
    return _INVISIBLE.match(char) is not None


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def is_latin(char: str) -> bool:
    return char.isascii() or "LATIN" in unicodedata.name(char, "")


@lru_cache(maxsize=4)
def homoglyph_table(*, digits: bool = False, latin: bool = False) -> dict[str, str]:
    """Look-alike character → the ASCII letter it imitates.

    The letter keeps the case the confusables list gives it, preferring the character's own case when both
    are listed (Cyrillic ``Ь`` looks like ``b``, ``А`` like ``A``). ``digits``: also non-ASCII digits that
    look like a letter (Tamil ``௦`` → ``o``). ``latin``: also non-ASCII Latin letters (``ɑ`` → ``a``, dotless
    ``ı`` → ``i``), which would damage Turkish or IPA text – only for scans whose result nobody reads.
    """
    from confusable_homoglyphs import confusables

    table: dict[str, str] = {}
    for char, entries in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii() or not (char.isalpha() or (digits and char.isdigit())):
            continue
        name = unicodedata.name(char, "")
        if "LATIN" in name and (not latin or unicodedata.normalize("NFD", char)[0].isascii()):
            continue  # accented Latin letters (ä, é, ş) are letters of their own, never look-alikes
        forms = [e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalpha()]
        if not forms:
            continue
        if "l" in forms and name.endswith(_I_LIKE):
            table[char] = "I"  # the list's skeleton of a capital I is "l"
            continue
        same_case = [c for c in forms if c.isupper() == char.isupper()] if char.isupper() or char.islower() else []
        table[char] = (same_case or forms)[0]
    return table
