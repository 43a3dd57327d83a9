"""Gender-fair wording: generic masculine forms from a small list replaced or flagged (used by draft).

Nouns that become participles (plural only): "Mitarbeiter" → "Mitarbeitende" (strong) / "Mitarbeitenden" (after
an article or in the dative); pair forms: "Bürger" → "Bürgerinnen und Bürger". A preceding singular
determiner ("der", "ein", "jeder", …) makes the form ambiguous or singular: it is flagged with a suggestion,
not replaced. Unambiguous singular forms of "Antragsteller" become "die antragstellende Person"; forms that
are already gender-fair ("Bürgerinnen und Bürger", "Mitarbeiter*innen") are left alone; "Sehr geehrte Herren"
becomes "Sehr geehrte Damen und Herren".
"""

from __future__ import annotations

import re

from rathaus.assistants.tools.text import WORD_RE

PARTICIPLE_NOUNS = {"Mitarbeiter": "Mitarbeitend", "Teilnehmer": "Teilnehmend", "Nutzer": "Nutzend",
                    "Antragsteller": "Antragstellend", "Beschäftigter": "Beschäftigt", "Studenten": "Studierend"}
PAIR_NOUNS = {"Bürger": ("Bürgerinnen", "Bürger"), "Einwohner": ("Einwohnerinnen", "Einwohner"),
              "Kollegen": ("Kolleginnen", "Kollegen"), "Besucher": ("Besucherinnen", "Besucher"),
              "Steuerzahler": ("Steuerzahlerinnen", "Steuerzahler"), "Bewerber": ("Bewerberinnen", "Bewerber"),
              "Ansprechpartner": ("Ansprechpersonen", None)}
_SINGULAR = {"der", "dem", "des", "ein", "einem", "eines", "jeder", "jedem", "jedes", "kein", "keinem", "dieser",
             "diesem", "jener", "unser", "unserem", "ihr", "ihrem", "welcher", "einen"}
_WEAK = {"die", "den", "alle", "allen", "unsere", "unseren", "ihre", "ihren", "diese", "diesen", "keine", "keinen",
         "sämtliche", "sämtlichen", "liebe", "lieben", "geehrte"}
_NOUN_RE = re.compile(r"\b(?P<noun>" + "|".join(sorted({*PARTICIPLE_NOUNS, *PAIR_NOUNS}, key=len, reverse=True))
                      + r")(?P<dat>n?)(?![\w*:/_])")
_SINGULAR_FIXED = [  # unambiguous singular forms of "Antragsteller"
    (re.compile(r"\b([Dd])en Antragsteller\b(?![\w*:/])"), "{d}ie antragstellende Person"),
    (re.compile(r"\b([Dd])em Antragsteller\b(?![\w*:/])"), "{d}er antragstellenden Person"),
    (re.compile(r"\b([Dd])es Antragstellers\b"), "{d}er antragstellenden Person"),
    (re.compile(r"(?:^|(?<=[.!?]\s))([Dd])er Antragsteller\b(?![\w*:/])(?= \w+ )"), "{d}ie antragstellende Person"),
]


def gender_fair(text: str) -> tuple[str, list[dict[str, str]], list[dict[str, str]]]:
    """(text with replacements, replaced [{from, to}], flagged [{text, suggestion}]) for generic masculine forms."""
    replaced: list[dict[str, str]] = []
    flagged: list[dict[str, str]] = []
    text = re.sub(r"\bSehr geehrte Herren\b", "Sehr geehrte Damen und Herren", text)
    for pattern, template in _SINGULAR_FIXED:
        def fixed(m: re.Match[str], template: str = template) -> str:
            d = "D" if m.group(1) == "D" else "d"
            new = template.format(d=d)
            replaced.append({"from": m.group(0), "to": new})
            return new
        text = pattern.sub(fixed, text)

    def plural(m: re.Match[str]) -> str:
        noun, dative = m.group("noun"), m.group("dat")
        before = text[max(0, m.start() - 40):m.start()]
        after = text[m.end():m.end() + 20]
        if re.search(r"innen\s+und\s+$", before) or re.match(r"\s+und\s+\w+innen", after) \
                or re.search(r"\w+innen\s+(?:oder|bzw\.?)\s+$", before):
            return m.group(0)  # already a pair form
        previous = [w.lower() for w in WORD_RE.findall(before)[-2:]]
        determiner = next((w for w in reversed(previous) if w in _SINGULAR | _WEAK), None)
        if noun == "Kollegen" and not dative:
            determiner = determiner if determiner not in _SINGULAR else None
        if noun == "Beschäftigter" or (determiner in _SINGULAR and not dative and noun != "Kollegen"):
            suggestion = (PARTICIPLE_NOUNS[noun] + "e" if noun in PARTICIPLE_NOUNS
                          else " und ".join(p for p in PAIR_NOUNS[noun] if p))
            entry = {"text": " ".join([*previous[-1:], m.group(0)]), "suggestion": suggestion}
            if entry not in flagged:
                flagged.append(entry)
            return m.group(0)
        if noun in PARTICIPLE_NOUNS:
            weak = bool(dative) or determiner in _WEAK
            new = PARTICIPLE_NOUNS[noun] + ("en" if weak else "e")
        else:
            female, male = PAIR_NOUNS[noun]
            new = female if male is None else f"{female} und {male}{dative if noun != 'Kollegen' else ''}"
        replaced.append({"from": m.group(0), "to": new})
        return new

    text = _NOUN_RE.sub(plural, text)
    return text, replaced, flagged
