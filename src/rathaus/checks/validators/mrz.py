"""Machine-readable zones (ICAO Doc 9303, 8th edition, parts 3–7): TD1 (ID cards, 3×30, incl. the German
Personalausweis "IDD<<"), TD2 (2×36), TD3 (passports, 2×44) and machine-readable visas (MRV-A 2×44, MRV-B 2×36).

Every check digit of the format is computed (7-3-1 weights, '<' = 0, A=10 … Z=35) and reported one by one.
OCR tolerance: characters that OCR confuses (O/0, I/1, B/8, S/5, Z/2, G/6, '«'/'<', spaces) are normalised only
where the format fixes the character type (digits in dates and check digits, letters in country codes and names).
In alphanumeric fields with their own check digit (document number, the passport's personal number) one
confusable character is changed only when that change makes the field's check digit and the composite valid and
no other single change does (the composite weighs the field's check digit by 7 or 1, so a wrong check digit is
not "corrected" away, except when it is off by exactly 5). Also tried: all O/Q/D of the field read as 0 (OCR
confuses them consistently). Optional data covered only by the composite is never changed, and in visas (no
composite) only the uniform O→0 reading is tried: a single check digit confirms a wrong change one time in ten.

Line-level repairs of OCR text (:func:`line_readings`), each only a hypothesis that the check digits must confirm:
runs of fillers miscounted (up to 8 characters), look-alike letters inside a run of fillers (Tesseract reads a
small '<' as K, S, E, C, X, L, G) read as fillers, a spurious first character (the card's edge). Several OCR
passes can be combined line by line (:func:`mrz_from_line_readings`). Limit: characters covered only by the
composite check digit (TD1 optional data) are confirmed by that one digit, so a reading wrong in two or more of
them is accepted one time in ten.

Why not a library: ``mrz`` (PyPI, last release 2020) checks digits but does not correct OCR readings and reports
results only as a list; PassportEye's parser is tied to its image pipeline (scikit-image, pdfminer at import).
The format itself is a table of positions, below.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

MrzFormat = Literal["TD1", "TD2", "TD3", "MRVA", "MRVB"]
Kind = Literal["A", "N", "X", "S"]  # letters, digits, alphanumeric, sex – each may also be the filler '<'

FILLER = "<"
_VALUES = {**{str(d): d for d in range(10)}, **{chr(ord("A") + i): 10 + i for i in range(26)}, FILLER: 0}
# OCR confusions: letter read where the format needs a digit, and the other way round.
_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G"}
# In alphanumeric fields both readings are possible: the check digit decides.
# G/6 is left out: their values (16, 6) differ by 10, so no check digit can tell them apart.
_AMBIGUOUS = {"0": "O", "O": "0", "1": "I", "I": "1", "2": "Z", "Z": "2", "5": "S", "S": "5", "8": "B", "B": "8",
              "D": "0", "Q": "0"}
# The German ID card's document number uses digits and these consonants only (no vowels, no B, D, Q, S).
GERMAN_ID_ALPHABET = frozenset("0123456789CFGHJKLMNPRTVWXYZ")
_SHAPES: dict[MrzFormat, tuple[int, int]] = {"TD1": (3, 30), "TD2": (2, 36), "TD3": (2, 44), "MRVA": (2, 44),
                                             "MRVB": (2, 36)}


@dataclass(frozen=True)
class _Field:
    name: str
    line: int
    start: int
    end: int
    kind: Kind


@dataclass(frozen=True)
class _Check:
    name: str  # document_number, birth_date, expiry_date, personal_number, composite
    segments: tuple[tuple[int, int, int], ...]  # (line, start, end) covered by the digit
    line: int
    pos: int
    may_be_empty: bool = False  # an empty field may carry '<' as its check digit (personal number)


def _td3_like(personal_end: int, with_checks: bool) -> tuple[tuple[_Field, ...], tuple[_Check, ...]]:
    """TD3/TD2 and the visas share line 2 up to the expiry date's check digit."""
    width = personal_end if not with_checks else personal_end + (2 if personal_end == 42 else 1)
    fields: tuple[_Field, ...] = (
        _Field("document_code", 0, 0, 2, "A"), _Field("issuing_state", 0, 2, 5, "A"),
        _Field("names", 0, 5, width, "A"),
        _Field("document_number", 1, 0, 9, "X"), _Field("document_number_check", 1, 9, 10, "N"),
        _Field("nationality", 1, 10, 13, "A"), _Field("birth_date", 1, 13, 19, "N"),
        _Field("birth_date_check", 1, 19, 20, "N"), _Field("sex", 1, 20, 21, "S"),
        _Field("expiry_date", 1, 21, 27, "N"), _Field("expiry_date_check", 1, 27, 28, "N"),
        _Field("optional_data", 1, 28, personal_end, "X"),
    )
    checks = [_Check("document_number", ((1, 0, 9),), 1, 9), _Check("birth_date", ((1, 13, 19),), 1, 19),
              _Check("expiry_date", ((1, 21, 27),), 1, 27)]
    if with_checks:
        if personal_end == 42:  # TD3: the personal number has its own check digit
            fields += (_Field("personal_number_check", 1, 42, 43, "N"),)
            checks.append(_Check("personal_number", ((1, 28, 42),), 1, 42, may_be_empty=True))
        last = width - 1
        fields += (_Field("composite_check", 1, last, last + 1, "N"),)
        checks.append(_Check("composite", ((1, 0, 10), (1, 13, 20), (1, 21, last)), 1, last))
    return fields, tuple(checks)


_TD1_FIELDS = (
    _Field("document_code", 0, 0, 2, "A"), _Field("issuing_state", 0, 2, 5, "A"),
    _Field("document_number", 0, 5, 14, "X"), _Field("document_number_check", 0, 14, 15, "N"),
    _Field("optional_data", 0, 15, 30, "X"),
    _Field("birth_date", 1, 0, 6, "N"), _Field("birth_date_check", 1, 6, 7, "N"), _Field("sex", 1, 7, 8, "S"),
    _Field("expiry_date", 1, 8, 14, "N"), _Field("expiry_date_check", 1, 14, 15, "N"),
    _Field("nationality", 1, 15, 18, "A"), _Field("optional_data_2", 1, 18, 29, "X"),
    _Field("composite_check", 1, 29, 30, "N"), _Field("names", 2, 0, 30, "A"),
)
_TD1_CHECKS = (
    _Check("document_number", ((0, 5, 14),), 0, 14), _Check("birth_date", ((1, 0, 6),), 1, 6),
    _Check("expiry_date", ((1, 8, 14),), 1, 14),
    _Check("composite", ((0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)), 1, 29),
)
LAYOUTS: dict[MrzFormat, tuple[tuple[_Field, ...], tuple[_Check, ...]]] = {
    "TD1": (_TD1_FIELDS, _TD1_CHECKS),
    "TD2": _td3_like(35, True),
    "TD3": _td3_like(42, True),
    "MRVA": _td3_like(44, False),
    "MRVB": _td3_like(36, False),
}


def check_digit(text: str) -> int:
    """ICAO 9303 check digit: weights 7, 3, 1 repeating; digits their value, A–Z 10–35, '<' 0."""
    try:
        return sum(_VALUES[c] * (7, 3, 1)[i % 3] for i, c in enumerate(text)) % 10
    except KeyError as exc:
        raise ValueError(f"Zeichen {exc.args[0]!r} ist in einer maschinenlesbaren Zone nicht erlaubt") from None


@dataclass
class MrzResult:
    """A parsed MRZ. Dates are ISO (None when the digits are not a date); each ``*_check`` tells whether that
    check digit matches (None: the format has no such digit). ``valid``: every check digit of the format matches and
    both dates are dates (an unknown day written as ``<<``, which ICAO allows, is therefore not valid: a person
    looks)."""

    format: MrzFormat
    lines: tuple[str, ...]  # as used, after corrections
    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: str | None
    sex: str  # M, F, X or "" (unspecified)
    expiry_date: str | None
    optional_data: str
    optional_data_2: str
    document_number_check: bool
    birth_date_check: bool
    expiry_date_check: bool
    personal_number_check: bool | None
    composite_check: bool | None
    valid: bool
    german_id_card: bool = False
    raw_lines: tuple[str, ...] = ()
    corrections: list[str] = field(default_factory=list)  # German, e.g. "Zeile 2, Stelle 3: 'O' → '0'"
    messages: list[str] = field(default_factory=list)  # German, one per failed check or implausible value

    @property
    def checks(self) -> dict[str, bool]:
        """The check digits of this format and whether each matches."""
        named = {"document_number": self.document_number_check, "birth_date": self.birth_date_check,
                 "expiry_date": self.expiry_date_check, "personal_number": self.personal_number_check,
                 "composite": self.composite_check}
        return {k: v for k, v in named.items() if v is not None}

    def document_fields(self) -> dict[str, str]:
        """The values under the Document.fields keys of rathaus.checks (CHECKS.md conventions)."""
        out = {"surname": self.surname, "given_names": self.given_names, "document_number": self.document_number,
               "nationality": self.nationality, "mrz": "\n".join(self.lines),
               "mrz_valid": "true" if self.valid else "false"}
        if self.birth_date:
            out["birth_date"] = self.birth_date
        if self.expiry_date:
            out["expiry_date"] = self.expiry_date
        return out


_CHECK_LABELS = {"document_number": "Dokumentennummer", "birth_date": "Geburtsdatum", "expiry_date": "Ablaufdatum",
                 "personal_number": "persönliche Nummer", "composite": "Gesamtprüfziffer"}


_FILLER_RUN = re.compile(r"[<K]{3,}")


def _fillers(match: re.Match[str]) -> str:
    run, start, end = match.group(), match.start(), match.end()
    text = match.string
    # K's at the edge of the run touching a letter belong to the word (ERIK<<ANNA); so does a single K touching a
    # digit (…1234K<<<); several K's touching a digit are misread fillers (…<<KKKK6)
    lead_ks = len(run) - len(run.lstrip("K"))
    trail_ks = len(run) - len(run.rstrip("K"))
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    lead = lead_ks if before.isalpha() or (before.isdigit() and lead_ks == 1) else 0
    trail = trail_ks if after.isalpha() or (after.isdigit() and trail_ks == 1) else 0
    core = run[lead:len(run) - trail]
    if core.count(FILLER) < 2:
        return run
    return run[:lead] + FILLER * len(core) + run[len(run) - trail:]


def clean_line(text: str) -> str:
    """Upper case, '«' and similar as '<', no spaces; 'K' inside a run of fillers as '<' (Tesseract reads the
    chevron '<' as 'K' often; K and '<' weigh the same in every check digit, 20 ≡ 0 mod 10)."""
    text = text.upper().replace("«", "<").replace("‹", "<").replace("＜", "<")
    return _FILLER_RUN.sub(_fillers, re.sub(r"\s+", "", text))


def format_of(lines: Sequence[str]) -> MrzFormat | None:
    """The format given by the number and length of the lines and the document code (None: no MRZ shape)."""
    shape = (len(lines), len(lines[0]) if lines else 0)
    if any(len(line) != shape[1] for line in lines):
        return None
    visa = bool(lines) and lines[0][:1] == "V"
    for name, expected in _SHAPES.items():
        if expected == shape and (name.startswith("MRV") == visa or name == "TD1"):
            return name
    return None


def _digit_value(c: str) -> int | None:
    if c.isdigit():
        return int(c)
    return None


def _check_ok(chars: list[list[str]], check: _Check) -> bool:
    text = "".join("".join(chars[line][a:b]) for line, a, b in check.segments)
    digit = chars[check.line][check.pos]
    if digit == FILLER and check.may_be_empty:
        return set(text) <= {FILLER}
    value = _digit_value(digit)
    try:
        return value is not None and check_digit(text) == value
    except ValueError:
        return False


def _normalise_typed(chars: list[list[str]], fields: Sequence[_Field], corrections: list[str]) -> None:
    for f in fields:
        for pos in range(f.start, f.end):
            c = chars[f.line][pos]
            new = c
            if f.kind == "N" and not c.isdigit() and c != FILLER:
                new = _TO_DIGIT.get(c, c)
            elif f.kind == "A" and c.isdigit():
                new = _TO_LETTER.get(c, c)
            elif f.kind == "S" and c not in "MFX<":
                new = {"H": "M", "E": "F", "P": "F"}.get(c, c)
            if new != c:
                chars[f.line][pos] = new
                corrections.append(f"Zeile {f.line + 1}, Stelle {pos + 1}: '{c}' → '{new}'")


def _confirm(chars: list[list[str]], spots: Sequence[tuple[int, int]], checks: Sequence[_Check],
             corrections: list[str], single: bool = True, german: bool = False) -> list[list[str]]:
    """Change ambiguous characters at ``spots`` if exactly one hypothesis makes all ``checks`` valid. Hypotheses:
    one character changed (``single``), or every O/Q/D read as 0 – OCR confuses a font's O and
    0 consistently within a field; on a German ID card, every character outside the card's alphabet as the digit
    it resembles (tried first)."""
    if all(_check_ok(chars, c) for c in checks):
        return chars
    uniform: list[list[tuple[int, int, str]]] = []
    if german:
        alphabet = [(line, pos, _AMBIGUOUS[chars[line][pos]]) for line, pos in spots
                    if chars[line][pos] not in GERMAN_ID_ALPHABET and chars[line][pos] in _AMBIGUOUS]
        if alphabet:
            uniform.append(alphabet)
    # (the reverse, every 0 as O, is not tried: a run of zeros turned into O's fits the check digit too often)
    changes = [(line, pos, "0") for line, pos in spots if chars[line][pos] in "OQD"]
    if len(changes) > 1 and changes not in uniform:
        uniform.append(changes)
    single_changes = [[(line, pos, _AMBIGUOUS[chars[line][pos]])] for line, pos in spots
                      if chars[line][pos] in _AMBIGUOUS] if single else []
    # the uniform readings first: when one of them is confirmed it is taken, else a unique single change
    for hypotheses in (uniform, single_changes):
        found = []
        for changes in hypotheses:
            trial = [list(row) for row in chars]
            for line, pos, new in changes:
                trial[line][pos] = new
            if all(_check_ok(trial, c) for c in checks):
                found.append((changes, trial))
        if len(found) == 1:
            changes, trial = found[0]
            for line, pos, new in changes:
                corrections.append(f"Zeile {line + 1}, Stelle {pos + 1}: '{chars[line][pos]}' → '{new}' "
                                   "(Prüfziffer bestätigt)")
            return trial
    return chars


def _yymmdd(text: str, kind: Literal["birth", "expiry"], today: date) -> str | None:
    if not text.isdigit() or len(text) != 6:
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    for century in (2000, 1900):
        try:
            d = date(century + yy, mm, dd)
        except ValueError:
            return None
        if (kind == "birth" and d <= today) or (kind == "expiry" and d.year <= today.year + 20):
            return d.isoformat()
    return None


def _names(field_text: str) -> tuple[str, str]:
    # Surname << given names (single '<' between parts). Given names never contain three fillers in a row: what
    # follows is padding (and OCR noise in it).
    surname, _, given = field_text.strip("<").partition("<<")
    given = given.lstrip("<").split("<<<", 1)[0]
    return surname.replace("<", " ").strip(), re.sub(r"<+", " ", given).strip()


def parse_mrz(lines: Sequence[str] | str, *, today: date | None = None, correct: bool = True) -> MrzResult:
    """Parse an MRZ (its lines, or one text with line breaks) and compute all check digits.

    ``correct``: normalise OCR confusions where the format fixes the character type, and in alphanumeric fields
    where a check digit confirms it. Raises ValueError with a German message when the lines are no MRZ shape.
    """
    today = today or date.today()
    raw = [clean_line(line) for line in (lines.splitlines() if isinstance(lines, str) else lines)]
    raw = [line for line in raw if line]
    fmt = format_of(raw)
    if fmt is None:
        shape = " + ".join(str(len(line)) for line in raw) or "keine Zeilen"
        raise ValueError(f"Keine maschinenlesbare Zone: erwartet 3×30 (Ausweis), 2×36 oder 2×44 (Pass) Zeichen, "
                         f"gelesen {shape}")
    fields, checks = LAYOUTS[fmt]
    chars = [list(line) for line in raw]
    corrections: list[str] = []
    if correct:
        _normalise_typed(chars, fields, corrections)
        german = fmt == "TD1" and "".join(chars[0][:5]) in {"IDD<<", "I<D<<"}
        composite = [c for c in checks if c.name == "composite"]
        for check in checks:
            if check.name in ("document_number", "personal_number"):
                spots = [(line, p) for line, a, b in check.segments for p in range(a, b)]
                # without a composite (visas) only the uniform O/0 hypothesis, never a single free change
                chars = _confirm(chars, spots, [check, *composite], corrections, single=bool(composite),
                                 german=german and check.name == "document_number")
    text = ["".join(row) for row in chars]

    def get(name: str) -> str:
        f = next(f for f in fields if f.name == name)
        return text[f.line][f.start:f.end]

    results = {c.name: _check_ok(chars, c) for c in checks}
    surname, given = _names(get("names"))
    document_number = get("document_number")
    optional_data = get("optional_data")
    if fmt == "TD1" and document_number[-1:] != FILLER and text[0][14] == FILLER and optional_data.strip("<"):
        # ICAO 9303-5 4.2.2: a number longer than 9 characters continues in the optional data, its check digit
        # last; position 15 holds '<'. The composite still covers it.
        rest = optional_data.split(FILLER, 1)[0]
        document_number, digit = document_number + rest[:-1], rest[-1:]
        results["document_number"] = digit.isdigit() and check_digit(document_number) == int(digit)
    birth = _yymmdd(get("birth_date"), "birth", today)
    expiry = _yymmdd(get("expiry_date"), "expiry", today)
    messages = [f"Prüfziffer {_CHECK_LABELS[name]} stimmt nicht" for name, ok in results.items() if not ok]
    if birth is None:
        messages.append(f"Geburtsdatum {get('birth_date')!r} ist kein gültiges Datum")
    if expiry is None:
        messages.append(f"Ablaufdatum {get('expiry_date')!r} ist kein gültiges Datum")
    german_id = fmt == "TD1" and get("issuing_state") == "D<<" and get("document_code")[0] == "I"
    if german_id and not set(document_number) <= GERMAN_ID_ALPHABET:
        messages.append("Dokumentennummer enthält Zeichen, die im deutschen Personalausweis nicht vorkommen")
    sex = get("sex")
    return MrzResult(
        format=fmt, lines=tuple(text), raw_lines=tuple(raw),
        document_code=get("document_code").strip("<"), issuing_state=get("issuing_state").strip("<"),
        surname=surname, given_names=given, document_number=document_number.strip("<"),
        nationality=get("nationality").strip("<"), birth_date=birth, sex=sex if sex in "MFX" else "",
        expiry_date=expiry, optional_data=optional_data.strip("<"),
        optional_data_2=get("optional_data_2").strip("<") if fmt == "TD1" else "",
        document_number_check=results["document_number"], birth_date_check=results["birth_date"],
        expiry_date_check=results["expiry_date"], personal_number_check=results.get("personal_number"),
        # dates that are no dates fail too: '<' counts as 0 in a check digit, so a misread date can still "match"
        composite_check=results.get("composite"), valid=all(results.values()) and birth is not None
        and expiry is not None, german_id_card=german_id,
        corrections=corrections, messages=messages,
    )


_WIDTHS = (30, 36, 44)
# What Tesseract reads for the chevron '<' when characters are only a few pixels high (besides 'K', which
# clean_line already takes as a filler). Letters only: a digit next to fillers may be a check digit.
_CHEVRON_LOOKALIKES = "KSECXLG"
_NOISY_FILLER_RUN = re.compile(rf"<{{2,}}(?:[<{_CHEVRON_LOOKALIKES}]*<)?")
_MAX_SHIFT = 8  # characters by which OCR may have miscounted a long run of fillers
_MAX_PARSES = 400  # combinations of line readings parsed per block of lines
_MAX_READINGS = 300  # readings of one line (OCR alternatives × repairs) combined with the other lines'


def _repair_length(line: str, width: int, names_line: bool) -> list[str]:
    """Candidate readings of a line OCR made too long or too short (usually in a run of fillers)."""
    if len(line) == width:
        return [line]
    if names_line or abs(len(line) - width) > 2:
        return [line[:width].ljust(width, FILLER)]
    if len(line) > width:  # drop surplus characters from runs of fillers, or from the end
        out = {line[:width]}
        for i in range(len(line)):
            if line[i] == FILLER:
                out.update(_repair_length(line[:i] + line[i + 1:], width, names_line))
        return sorted(out)
    out = {line.ljust(width, FILLER)}
    for i in range(len(line) + 1):
        if (i < len(line) and line[i] == FILLER) or (i > 0 and line[i - 1] == FILLER):
            out.update(_repair_length(line[:i] + FILLER + line[i:], width, names_line))
    return sorted(out)


def clean_filler_noise(line: str) -> str:
    """``line`` with look-alike letters inside a run of fillers read as fillers: a run that starts with two '<',
    ends in '<' and is at least half '<'/'K', e.g. ``<<<<<<SSSSK<`` → twelve '<' (a K before a letter or digit
    stays: it may belong to the word, see :func:`clean_line`). A hypothesis only – the check digits decide
    (:func:`line_readings`)."""
    def fill(match: re.Match[str]) -> str:
        run = match.group()
        return FILLER * len(run) if 2 * sum(c in "<K" for c in run) >= len(run) else run
    return _NOISY_FILLER_RUN.sub(fill, line)


def _resize_filler_runs(line: str, width: int) -> list[str]:
    """``line`` brought to ``width`` by growing or shrinking one of its runs of three or more fillers (OCR
    miscounts the chevrons of a long run); every run is tried, the longest first."""
    diff = width - len(line)
    runs = sorted(((m.start(), m.end()) for m in re.finditer(r"<{3,}", line)), key=lambda r: r[0] - r[1])
    return [line[:a] + FILLER * (b - a + diff) + line[b:] for a, b in runs if b - a + diff >= 1]


def _nearest_width(length: int, width: int) -> bool:
    return all(abs(length - width) <= abs(length - other) for other in _WIDTHS)


def could_fit(line: str, width: int) -> bool:
    """Whether an OCR'd line may be an MRZ line of ``width`` characters: off by at most 3, or by up to
    _MAX_SHIFT when it has a run of fillers to absorb the difference and no other MRZ width is nearer."""
    diff = abs(len(line) - width)
    return diff <= 3 or (diff <= _MAX_SHIFT and _nearest_width(len(line), width)
                         and re.search(r"<{3,}", clean_filler_noise(line)) is not None)


def line_readings(line: str, width: int, names_line: bool) -> list[str]:
    """Readings of one OCR'd MRZ line at exactly ``width`` characters, likeliest first: with look-alike letters in
    runs of fillers as fillers, then as read (one or two characters too many or too few repaired in runs of
    fillers); a long run of fillers miscounted by up to _MAX_SHIFT; without a first character when the line is
    too long (a mark at the card's edge read as a letter). A names line (no check digit covers it) is only padded
    or cut. Which reading is right is left to the check digits."""
    if names_line:
        return _repair_length(line, width, names_line=True)
    # the letters in a run of fillers read as fillers first: the composite check digit cannot tell some noise from
    # fillers (two E's at weights 7 and 3 add 140 ≡ 0), and noise there is far likelier than such optional data
    cleaned = clean_filler_noise(line)
    variants = [cleaned, line] if cleaned != line else [line]
    if len(line) > width:
        variants += [variant[1:] for variant in variants]
    out: list[str] = []
    for variant in variants:
        diff = abs(width - len(variant))
        if diff <= 2:
            out.extend(_repair_length(variant, width, names_line=False))
        elif diff <= _MAX_SHIFT:
            out.extend(_resize_filler_runs(variant, width))
    out.extend(_repair_length(line, width, names_line=False))  # as before: padded or cut at the end
    return list(dict.fromkeys(out))


def _by_rank(options: Sequence[Sequence[tuple[int, int, str]]], limit: int) -> Iterator[tuple[str, ...]]:
    """Combinations of one reading per line (``(OCR rank, repair rank, reading)``), those made of likelier OCR
    readings first, then of fewer repairs."""
    def key(combo: tuple[tuple[int, int, str], ...]) -> tuple[int, int]:
        return sum(c[0] for c in combo), sum(c[1] for c in combo)
    for combo in sorted(itertools.product(*options), key=key)[:limit]:
        yield tuple(c[2] for c in combo)


def _ranked_readings(alternatives: Sequence[str], width: int, names_line: bool) -> list[tuple[int, int, str]]:
    seen: dict[str, tuple[int, int, str]] = {}
    for rank, alternative in enumerate(a for a in alternatives if could_fit(a, width)):
        if names_line and rank > 0:
            break
        for repair_rank, reading in enumerate(line_readings(alternative, width, names_line)):
            seen.setdefault(reading, (rank, repair_rank, reading))
    return list(seen.values())[:_MAX_READINGS]


def mrz_from_line_readings(lines: Sequence[Sequence[str]], *, today: date | None = None,
                           limit: int = _MAX_PARSES) -> MrzResult | None:
    """Find an MRZ in OCR'd text lines, each given as its alternative readings (likeliest first; from one or
    several OCR passes): the last block of 2 or 3 lines that parses, with OCR correction. Lines read too long or
    too short are repaired (:func:`line_readings`); the first combination whose check digits all match wins,
    otherwise the one with most matching check digits. Of a names line (no check digit) only the first reading
    is used. ``limit``: combinations parsed per block of lines."""
    best: MrzResult | None = None
    for count, width in ((2, 44), (2, 36), (3, 30)):
        names_at = 2 if count == 3 else 0
        for end in range(len(lines), count - 1, -1):
            options = [_ranked_readings(alternatives, width, i == names_at)
                       for i, alternatives in enumerate(lines[end - count:end])]
            if not all(options):
                continue
            for combo in _by_rank(options, limit):
                try:
                    result = parse_mrz(list(combo), today=today)
                except ValueError:
                    continue
                if best is None or reading_score(result) > reading_score(best):
                    best = result
                if result.valid:
                    return result
    return best


def mrz_lines(text: str) -> list[str]:
    """The lines of OCR text that may belong to an MRZ, cleaned (:func:`clean_line`, only A–Z 0–9 '<')."""
    lines = [re.sub(r"[^A-Z0-9<]", "", clean_line(line)) for line in text.splitlines()]
    return [line for line in lines if len(line) >= 30 - _MAX_SHIFT
            and (FILLER in line or sum(c.isdigit() for c in line) > 8)]


def mrz_from_text(text: str, *, today: date | None = None) -> MrzResult | None:
    """Find an MRZ in OCR text (the last block of 2 or 3 MRZ-like lines) and parse it with OCR correction; lines
    OCR read too long or too short are repaired where the check digits confirm the repair."""
    return mrz_from_line_readings([[line] for line in mrz_lines(text)], today=today)


def reading_score(result: MrzResult) -> tuple[int, int]:
    """How good a reading is: matching check digits, then fewer corrections."""
    return (sum(result.checks.values()), -len(result.corrections))
