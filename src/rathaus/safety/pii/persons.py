"""Person names found by cues that German letters and forms use, independent of the tagger.

- salutations and titles: "Frau Dr. Anna-Lena Meier", "Herrn Prof. von Brunn", "Sehr geehrter Herr Yılmaz",
  "Dr. Papadopoulos", "Familie Nowak";
- greetings with a known first name: "Liebe Anna", "Hallo Mehmet";
- form fields: "Name: …", "Antragstellerin: …", "Ansprechpartner: …";
- the line after "Mit freundlichen Grüßen" or "gez.", and e-mail headers ("Von: Oleksandr Bondarenko");
- a known first name followed by a known last name ("Ayşe Demir", "Jan Kowalski").

The span covers the name only (titles and salutations stay in the text, which keeps answers polite).
"""

from __future__ import annotations

from collections.abc import Iterator

from rathaus.safety.pii.lexicon import PARTICLES, Lexicon, words
from rathaus.safety.pii.tokens import Token

HONORIFICS = words("herr herrn frau hr fr frl fräulein familie fam eheleute eheleuten mr mrs ms")
ACADEMIC = words(
    "dr prof dipl ing med jur rer nat phil pol oec habil h c mag msc bsc mba ll m dres professor professorin doktor"
)
ROLES = words(
    "bürgermeister bürgermeisterin oberbürgermeister oberbürgermeisterin stadtrat stadträtin minister ministerin "
    "präsident präsidentin abgeordnete abgeordneter kollege kollegin direktor direktorin richter richterin pfarrer "
    "pfarrerin rechtsanwalt rechtsanwältin anwalt anwältin staatsanwalt staatsanwältin kommissar kommissarin referent "
    "referentin sachbearbeiter sachbearbeiterin leiter leiterin vorsitzende vorsitzender landrat landrätin senator "
    "senatorin botschafter botschafterin konsul konsulin pastor pastorin"
)
GREETINGS = words("liebe lieber hallo hi moin servus grüß")
CLOSINGS = words("grüßen grüssen grüße grüsse gruß gruss gez")
FIELDS = words(
    "name vorname vornamen nachname familienname geburtsname antragsteller antragstellerin ansprechpartner "
    "ansprechpartnerin sachbearbeiter sachbearbeiterin kontaktperson absender absenderin empfänger empfängerin inhaber "
    "inhaberin mieter mieterin vermieter vermieterin patient patientin kind ehegatte ehegattin erziehungsberechtigte "
    "erziehungsberechtigter vertreter vertreterin bevollmächtigte bevollmächtigter unterzeichner unterzeichnerin "
    "verfasser verfasserin"
)
# e-mail header fields: "Von: Oleksandr Bondarenko", "An: …" (only with the colon)
HEADERS = words("von an cc bcc from to absender empfänger")
# particles that are also German articles or prepositions: they start a name only after "von" ("von der Leyen"),
# never right after a salutation ("Herr der Lage", "Frau zur Linden"-like phrases are rare, "Herr der Lage" is not)
ARTICLE_PARTICLES = words("der den zur zum")
# capitalised words that follow a cue but are not names
NOT_NAMES = words(
    "sie ihr ihre ihnen ich wir er es der die das den dem des ein eine einen einem und oder mit von vom zu zur zum im "
    "in am an auf für bitte danke vielen herzlichen gruß grüße grüßen kollegen kolleginnen damen herren alle allen "
    "team mitarbeiter mitarbeiterin leserin leser bürgerin bürger kunde kundin antrag bescheid hallo guten tag morgen "
    "abend bürgerinnen leserinnen kundinnen kunden mitarbeiterinnen mitarbeitende eltern nachbarn nachbarinnen "
    "mitglieder anwohner anwohnerinnen anwesende teilnehmende teilnehmer teilnehmerinnen eheleute"
)


def _is_name_word(token: Token) -> bool:
    word = token.text
    if len(word) < 2 or not word[0].isupper() or word.lower() in NOT_NAMES:
        return False
    return all(c.isalpha() or c in "-'’" for c in word)


def _skip(tokens: list[Token], i: int, words: frozenset[str]) -> int:
    """Index after any run of words from ``words`` (with their abbreviation dots and hyphens)."""
    while i < len(tokens) and (tokens[i].text.lower() in words or tokens[i].text in ".-"):
        i += 1
    return i


def _is_first(lex: Lexicon, word: str) -> bool:
    """A known first name, also hyphenated ones whose parts are all known ("Jan-Hendrik", "Anna-Lena")."""
    if lex.is_first(word):
        return True
    parts = word.split("-")
    return len(parts) > 1 and all(p and lex.is_first(p) for p in parts)


def _line_start(tokens: list[Token], i: int, text: str) -> bool:
    before = text[tokens[i - 1].end : tokens[i].start] if i > 0 else ""
    return i == 0 or "\n" in before


def _name_run(tokens: list[Token], i: int, lex: Lexicon, text: str, max_words: int = 4,
              whole_line: bool = False) -> int:
    """End (exclusive token index) of a name starting at ``i``, 0 words when ``tokens[i]`` is not a name.

    ``whole_line``: the cue says the rest of the line is a name (signature after a closing, an e-mail header),
    so every further name-like word on the line joins it, known or not ("Oleksandr Bondarenko")."""
    low = tokens[i].text.lower() if i < len(tokens) else ""
    if i + 1 < len(tokens) and low in PARTICLES and low not in ARTICLE_PARTICLES and _is_name_word(tokens[i + 1]):
        end = i + 2  # "Herr von Brunn", "Frau de Vries" (not "Herr der Lage")
    elif i < len(tokens) and _is_name_word(tokens[i]):
        end = i + 1
    else:
        return i
    while end < len(tokens) and end - i < max_words and "\n" not in text[tokens[end - 1].end : tokens[end].start]:
        token = tokens[end]
        if token.text.lower() in PARTICLES and end + 1 < len(tokens) and _is_name_word(tokens[end + 1]):
            end += 2
            continue
        previous = tokens[end - 1].text
        if _is_name_word(token) and (
            whole_line
            or _is_first(lex, previous)
            or lex.is_last(token.text)
            or lex.is_first(token.text)
            or previous.lower() in PARTICLES
        ):
            end += 1
            continue
        break
    return end


TITLE_WORDS = HONORIFICS | ACADEMIC | ROLES


def trim_titles(tokens: list[Token], first: int, stop: int) -> int:
    """First token of a tagged name after any salutation, title or role the tagger included ("Herr Dr.")."""
    while first < stop - 1 and (tokens[first].text.lower() in TITLE_WORDS or tokens[first].text in ".-"):
        first += 1
    return first


_SALUTATION_SKIP = HONORIFICS | ACADEMIC


def cue_persons(tokens: list[Token], lex: Lexicon, text: str) -> Iterator[tuple[int, int, float, str]]:
    """(first token, stop token, score, detector) of names found by cues. Linear: every token is looked at
    a bounded number of times (after a cue the scan resumes behind what the cue consumed)."""
    n = len(tokens)
    i = 0
    while i < n:
        low = tokens[i].text.lower()
        found: tuple[int, int, float, str] | None = None
        resume = i + 1
        if low in HONORIFICS or low in ("dr", "prof", "geehrte", "geehrter"):
            j = _skip(tokens, i, ACADEMIC) if low in ("dr", "prof") else _skip(tokens, i + 1, _SALUTATION_SKIP)
            j = _skip(tokens, j, ROLES)
            end = _name_run(tokens, j, lex, text)
            if end > j:
                found = (j, end, 0.92 if low in HONORIFICS else 0.85, "cue:title")
            resume = max(resume, j)
        elif low in GREETINGS and i + 1 < n and lex.is_first(tokens[i + 1].text) and _is_name_word(tokens[i + 1]):
            found = (i + 1, _name_run(tokens, i + 1, lex, text), 0.85, "cue:greeting")
        elif low in FIELDS and i + 1 < n and tokens[i + 1].text == ":":
            end = _name_run(tokens, i + 2, lex, text)
            if end > i + 2:
                found = (i + 2, end, 0.9, "cue:field")
        elif low in HEADERS and i + 1 < n and tokens[i + 1].text == ":" and _line_start(tokens, i, text):
            j = _skip(tokens, i + 2, _SALUTATION_SKIP)
            end = _name_run(tokens, j, lex, text, max_words=4, whole_line=True)
            if end > j:
                found = (j, end, 0.9, "cue:header")
            resume = max(resume, j)
        elif low in CLOSINGS:
            j = i + 1
            while j < n and tokens[j].text in ",.:":
                j += 1
            resume = max(resume, j)
            if j < n and (low == "gez" or "\n" in text[tokens[i].end : tokens[j].start]):
                j = _skip(tokens, j, _SALUTATION_SKIP)
                end = _name_run(tokens, j, lex, text, max_words=3, whole_line=low != "gez")
                if end > j:
                    found = (j, end, 0.85, "cue:closing")
                resume = max(resume, j)
        elif lex.is_first(tokens[i].text) and _is_name_word(tokens[i]) and i + 1 < n:
            end = _name_run(tokens, i, lex, text)
            if end > i + 1 and lex.is_last(tokens[end - 1].text):
                found = (i, end, 0.75, "lexicon:first+last")
        if found:
            yield found
            resume = max(resume, found[1])
        i = resume
